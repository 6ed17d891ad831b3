"""Loads directories saved by sft4j (HfInteropExport) with transformers and compares the logits sft4j
computed from the same directories, at real tokens (attention_mask 1: a padded query inside a sliding window has
no key to attend to, and what it gets is each attention kernel's own choice). Bound: 1e-5 relative, both in fp32.
Usage: python3 hf_interop.py INTEROP_DIR"""
import glob
import sys

import torch
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM

worst = 0.0
for logits_file in sorted(glob.glob(f"{sys.argv[1]}/*.logits.safetensors")):
    saved = logits_file[: -len(".logits.safetensors")]
    ours = load_file(logits_file)
    model = AutoModelForCausalLM.from_pretrained(saved, dtype=torch.float32, attn_implementation="eager").eval()
    with torch.no_grad():
        theirs = model(input_ids=ours["input_ids"], attention_mask=ours["attention_mask"]).logits
    real = ours["attention_mask"].bool()
    err = ((ours["logits"][real] - theirs[real]).norm() / theirs[real].norm()).item()
    worst = max(worst, err)
    print(f"{saved.split('/')[-1]:<22} {type(model).__name__:<20} logits rel. error {err:.3e} {'ok' if err < 1e-5 else 'FAIL'}")
print(f"worst {worst:.3e}: {'ALL WITHIN 1e-5' if worst < 1e-5 else 'FAILED'}")
