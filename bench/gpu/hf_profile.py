# transformers' side of TrainStepBench --profile: runs hf_scale_bench.py (its arguments after this script's) under
# torch.profiler, CPU and CUDA, and prints the time by kernel as sft4j's profile prints it (model set-up included).
#   python3 bench/gpu/hf_profile.py HF_SCALE_BENCH CONFIG B T MODE LORA_RANK [ckpt]
import runpy, sys
import torch
from torch.profiler import ProfilerActivity, profile

script = sys.argv[1]
sys.argv = [script] + sys.argv[2:]
with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
    runpy.run_path(script, run_name="__main__")
try:
    table = prof.key_averages().table(sort_by="device_time_total", row_limit=30, max_name_column_width=80)
except Exception:   # an older torch names it after CUDA
    table = prof.key_averages().table(sort_by="cuda_time_total", row_limit=30, max_name_column_width=80)
print(table)
