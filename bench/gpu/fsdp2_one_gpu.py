# hf_scale_bench.py with FSDP2 applied on one GPU too (torchrun --nproc_per_node 1): the world > 1 branches taken and
# no autocast, so one GPU compares sft4j's ZeRO over a group of one with FSDP2's identical compute path (bf16-mixed:
# MixedPrecisionPolicy(param_dtype=bf16, reduce_dtype=fp32) over fp32 parameters), communication aside.
# FSDP2_OFFLOAD=1: fully_shard(..., offload_policy=CPUOffloadPolicy()) (sharded parameters, gradients and the AdamW
# step in host memory: the peer of DeepSpeed's and sft4j's offload_optimizer: cpu).
#   torchrun --nproc_per_node N bench/gpu/fsdp2_one_gpu.py HF_SCALE_BENCH CONFIG_DIR B T MODE [lora_rank] [ckpt]
import os, sys
path = sys.argv.pop(1)
src = open(path).read()
patched = src.replace('if world > 1:', 'if world >= 1:').replace("world == 1)", "False)")
assert patched.count('if world >= 1:') == 3 and "False)" in patched, 'hf_scale_bench.py changed: patch it anew'
if os.environ.get('FSDP2_OFFLOAD') == '1':
    assert patched.count('mp_policy=mp)') == 2, 'hf_scale_bench.py changed: patch it anew'
    patched = patched.replace('mp_policy=mp)', 'mp_policy=mp, offload_policy=CPUOffloadPolicy())').replace(
        'import fully_shard, MixedPrecisionPolicy', 'import fully_shard, MixedPrecisionPolicy, CPUOffloadPolicy')
exec(compile(patched, path, 'exec'))
