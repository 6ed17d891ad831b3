# The peer for sft4j's mixed-precision modes: transformers + PyTorch training with fp32 weights under
# torch.autocast (bf16, or fp16 with GradScaler, as Trainer(fp16=True) runs it), SDPA attention, fused AdamW.
# Same workload as ../shared/fixtures/generate/hf_bench.py (random-init model from CONFIG_DIR, B=8, T=1024,
# 12 timed steps after 3), plus its pure-bf16 row as the anchor of the same run.
#   python3 hf_amp_bench.py CONFIG_DIR [B T]
import json, sys, time, torch
from transformers import AutoConfig, AutoModelForCausalLM

cfg = AutoConfig.from_pretrained(sys.argv[1])
B = int(sys.argv[2]) if len(sys.argv) > 2 else 8
T = int(sys.argv[3]) if len(sys.argv) > 3 else 1024
steps = 12


def run(weights, autocast=None):
    torch.manual_seed(0)
    m = AutoModelForCausalLM.from_config(cfg, dtype=weights, attn_implementation='sdpa').cuda()
    m.train(); m.config.use_cache = False
    opt = torch.optim.AdamW(m.parameters(), lr=1e-5, fused=True)
    scaler = torch.amp.GradScaler('cuda') if autocast == torch.float16 else None
    x = torch.randint(0, cfg.vocab_size, (B, T), device='cuda')
    torch.cuda.reset_peak_memory_stats()
    skipped = 0
    for i in range(steps + 3):
        if i == 3: torch.cuda.synchronize(); t = time.time()
        with torch.autocast('cuda', dtype=autocast, enabled=autocast is not None):
            loss = m(input_ids=x, labels=x).loss
        if scaler:
            before = scaler.get_scale()
            scaler.scale(loss).backward(); scaler.step(opt); scaler.update()
            skipped += scaler.get_scale() < before
        else:
            loss.backward(); opt.step()
        opt.zero_grad(set_to_none=True)
    torch.cuda.synchronize(); dt = time.time() - t
    return {'weights': str(weights), 'autocast': str(autocast), 'tokens_per_s': round(B * T * steps / dt),
            'peak_mem_gb': round(torch.cuda.max_memory_allocated() / 2**30, 1), 'loss': round(loss.item(), 4),
            'overflow_steps': skipped}


for r in [run(torch.bfloat16), run(torch.float32, torch.bfloat16), run(torch.float32, torch.float16)]:
    print(json.dumps(r))
