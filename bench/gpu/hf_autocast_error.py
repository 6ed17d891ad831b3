"""How far transformers' own 16-bit autocast logits are from its fp32 ones on the fixture models, at real tokens
(the scale of the bounds GpuParity puts on sft4j's 16-bit paths). Runs on CPU or GPU.
Usage: python3 hf_autocast_error.py FIXTURES/models [cpu|cuda] [NAME ...]"""
import sys

import torch
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM

models, device = sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "cpu"
for name in sys.argv[3:] or ["llama", "qwen2", "mistral", "llama3-rope", "qwen3", "gemma3", "phi3"]:
    d = f"{models}/{name}"
    e = {k: v.to(device) for k, v in load_file(f"{d}/expected.safetensors").items()}
    m = AutoModelForCausalLM.from_pretrained(d, dtype=torch.float32, attn_implementation="sdpa").to(device).eval()
    real = e["attention_mask"].bool()
    ref = e["logits"][real]
    row = [name]
    for dtype in (torch.bfloat16, torch.float16):
        with torch.no_grad(), torch.autocast(device, dtype=dtype):
            lg = m(input_ids=e["input_ids"], attention_mask=e["attention_mask"]).logits.float()
        row.append(f"{dtype}: {((lg[real] - ref).norm() / ref.norm()).item():.2e}")
    print("  ".join(row))
