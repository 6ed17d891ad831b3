#!/usr/bin/env bash
# One sharded training job on N GPUs, run twice in one command: transformers + torch FSDP2 through torchrun
# (hf_scale_bench.py, the anchor of issue 18) and sft4j's trainer with ZeRO (ShardedBench); prints both JSON lines and
# sft4j's tokens/s and peak memory against FSDP2's.
#   bench/gpu/sharded_vs_fsdp2.sh CONFIG_DIR NPROC B_PER_GPU T bf16-mixed|pure-bf16 ZERO_STAGE ckpt|nockpt
# Environment: HF_SCALE_BENCH (default ../shared/fixtures/generate/hf_scale_bench.py), JAVA (default java),
# SFT4J_CP (default: bench/target/classes and bench/target/lib/*), the DJL/libtorch variables of bench/gpu/README.md,
# CKPT_LAYERS (with ckpt: sft4j checkpoints only the first N layers, its gradient_checkpointing_layers).
# NPROC 1: FSDP2 over a group of one (fsdp2_one_gpu.py; hf_scale_bench.py alone would use autocast without FSDP2)
# beside sft4j's ZeRO over a group of one: the same compute paths, no communication.
# OFFLOAD=1: FSDP2 with CPUOffloadPolicy beside sft4j with DeepSpeed's offload_optimizer: cpu (-Dsft4j.benchOffload).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cfg="$1"; n="$2"; b="$3"; t="$4"; mode="$5"; stage="$6"; ckpt="$7"
hf="${HF_SCALE_BENCH:-$ROOT/../shared/fixtures/generate/hf_scale_bench.py}"
cp="${SFT4J_CP:-$ROOT/bench/target/classes:$ROOT/bench/target/lib/*}"
export NCCL_NVLS_ENABLE="${NCCL_NVLS_ENABLE:-0}"
ckpt_arg=""; [ "$ckpt" = "ckpt" ] && ckpt_arg="ckpt"
one=""; { [ "$n" = 1 ] || [ "${OFFLOAD:-0}" = 1 ]; } && one="$ROOT/bench/gpu/fsdp2_one_gpu.py"
fsdp="$(FSDP2_OFFLOAD="${OFFLOAD:-0}" torchrun --nproc_per_node "$n" $one "$hf" "$cfg" "$b" "$t" "$mode" 0 $ckpt_arg | grep '^{' | tail -1)"
out="$(mktemp -d)"
# hf_scale_bench.py trains on one batch every step: so does sft4j here ("same")
ours="$("${JAVA:-java}" -Xmx24g -Dsft4j.benchOffload=$([ "${OFFLOAD:-0}" = 1 ] && echo true || echo false) ${CKPT_LAYERS:+-Dsft4j.benchCkptLayers=$CKPT_LAYERS} -cp "$cp" org.sft4j.bench.ShardedBench "$cfg" "$n" "$b" "$t" "$mode" "$stage" "$ckpt" 10 "$out" same \
        | grep '^{' | tail -1)"
rm -rf "$out"
python3 - "$fsdp" "$ours" <<'PY'
import json, sys
a, b = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print("FSDP2:", json.dumps(a))
print("sft4j:", json.dumps(b))
if "error" in a or "tokens_per_s" not in a:
    print("FSDP2 did not finish:", a.get("error"))
else:
    print(f"sft4j / FSDP2: tokens/s {b['tokens_per_s'] / a['tokens_per_s']:.3f}x (target >= 1.1), "
          f"peak GiB per GPU {b['peak_gib_per_gpu']} vs {a['peak_gib_per_gpu']} (target <=)")
PY
