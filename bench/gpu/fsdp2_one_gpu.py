# hf_scale_bench.py with FSDP2 applied on one GPU too (torchrun --nproc_per_node 1): the world > 1 branches taken and
# no autocast, so one GPU compares sft4j's ZeRO over a group of one with FSDP2's identical compute path (bf16-mixed:
# MixedPrecisionPolicy(param_dtype=bf16, reduce_dtype=fp32) over fp32 parameters), communication aside.
#   torchrun --nproc_per_node 1 bench/gpu/fsdp2_one_gpu.py HF_SCALE_BENCH CONFIG_DIR B T MODE [lora_rank] [ckpt]
import sys
path = sys.argv.pop(1)
src = open(path).read()
patched = src.replace('if world > 1:', 'if world >= 1:').replace("world == 1)", "False)")
assert patched.count('if world >= 1:') == 3 and "False)" in patched, 'hf_scale_bench.py changed: patch it anew'
exec(compile(patched, path, 'exec'))
