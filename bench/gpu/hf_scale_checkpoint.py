"""Loads a checkpoint that sft4j wrote (ScaleCheckpoint: random weights, bf16, sharded safetensors + index) with
transformers and compares its logits with those sft4j computed from the same directory after loading it back.
Usage: python3 hf_scale_checkpoint.py SAVED_DIR   (reads SAVED_DIR.logits.safetensors; uses CUDA when present)"""
import json
import os
import sys

import torch
from safetensors import safe_open
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM

saved = sys.argv[1].rstrip("/")
index_path = os.path.join(saved, "model.safetensors.index.json")
shards = sorted(f for f in os.listdir(saved) if f.endswith(".safetensors"))
stored = set()
for f in shards:
    with safe_open(os.path.join(saved, f), "pt") as s:
        assert s.metadata().get("format") == "pt", f"{f}: no format=pt metadata"
        stored |= {s.get_slice(k).get_dtype() for k in s.keys()}
if os.path.exists(index_path):
    index = json.load(open(index_path))
    named = sorted(set(index["weight_map"].values()))
    assert named == shards, f"the index names {named}, the directory has {shards}"
    print(f"{len(shards)} shards, index total_size {index['metadata']['total_size']:,} bytes")
print(f"stored dtypes {sorted(stored)}, config dtype {json.load(open(os.path.join(saved, 'config.json'))).get('torch_dtype')}")

device = "cuda" if torch.cuda.is_available() else "cpu"
model, info = AutoModelForCausalLM.from_pretrained(saved, dtype=torch.float32, attn_implementation="eager",
                                                   output_loading_info=True)
missing = [k for k in info["missing_keys"] if "rotary_emb" not in k]
assert not missing and not info["unexpected_keys"], f"missing {missing}, unexpected {info['unexpected_keys']}"
model = model.to(device).eval()
ours = load_file(saved + ".logits.safetensors")
with torch.no_grad():
    theirs = model(input_ids=ours["input_ids"].to(device), attention_mask=ours["attention_mask"].to(device)).logits.cpu()
err = ((ours["logits"] - theirs).norm() / theirs.norm()).item()
same_argmax = (ours["logits"].argmax(-1) == theirs.argmax(-1)).float().mean().item()
print(f"{type(model).__name__}, {sum(p.numel() for p in model.parameters()):,} parameters on {device}: "
      f"logits rel. error {err:.3e}, same argmax {same_argmax:.3f}: {'OK' if err < 1e-4 else 'FAIL'}")
sys.exit(0 if err < 1e-4 else 1)
