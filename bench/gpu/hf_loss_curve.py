# transformers + torch on one fixed random batch: the loss of every step, the anchor of bench/gpu/bf16_curves.sh.
#   python3 hf_loss_curve.py CONFIG_DIR B T STEPS LR MODE
# MODE: pure-bf16 (bf16 weights and AdamW states: torch rounds each update to nearest) or bf16-mixed (fp32 master
# weights under autocast). Random init (seed 0), AdamW (foreach) at a constant LR, clip_grad_norm_ 1.0, as
# hf_scale_bench.py steps. Prints one JSON line per step.
import json, sys, torch
from transformers import AutoConfig, AutoModelForCausalLM
cfgdir, B, T, steps, lr, mode = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]), sys.argv[6]
cfg = AutoConfig.from_pretrained(cfgdir)
torch.manual_seed(0)
with torch.device('cuda'):
    m = AutoModelForCausalLM.from_config(cfg, dtype=torch.bfloat16 if mode == 'pure-bf16' else torch.float32,
                                         attn_implementation='sdpa')
m.train(); m.config.use_cache = False
opt = torch.optim.AdamW(m.parameters(), lr=lr, weight_decay=0.0, foreach=True)
x = torch.randint(0, cfg.vocab_size, (B, T), device='cuda', generator=torch.Generator(device='cuda').manual_seed(0))
for i in range(steps):
    with torch.autocast('cuda', dtype=torch.bfloat16, enabled=(mode == 'bf16-mixed')):
        loss = m(input_ids=x, labels=x).loss
    loss.backward()
    torch.nn.utils.clip_grad_norm_(m.parameters(), 1.0)
    opt.step(); opt.zero_grad(set_to_none=True)
    print(json.dumps({'trainer': 'transformers', 'mode': mode, 'step': i + 1, 'loss': round(loss.item(), 6)}), flush=True)
