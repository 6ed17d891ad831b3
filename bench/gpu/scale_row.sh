#!/usr/bin/env bash
# One row of issue 17's table, sft4j beside transformers, in one command on a GPU machine:
#   bench/gpu/scale_row.sh CONFIG_DIR B T MODE [LORA_RANK] [ckpt]
# MODE: pure-bf16 or bf16-mixed (hf_scale_bench.py's names); LORA_RANK 0 = full fine-tuning; ckpt = activation
# checkpointing. Runs sft4j's TrainStepBench (3 warm-up + 10 timed steps, clipping at 1.0, AdamW lr 1e-5) and then
# hf_scale_bench.py (the anchor: same steps), each in its own process, prints both JSON lines and the ratios.
# Environment: JAVA (default java), LIB (the jars, default bench/target/lib/* + core and bench classes), SFT4J_NATIVE
# (the extension), HF_SCALE_BENCH (default ../shared/fixtures/generate/hf_scale_bench.py), PYTHON (default python3),
# SFT4J_HEAP (default 24g), BF16_UPDATE (sft4j's bf16_update under pure-bf16; default: the run's default),
# CKPT_LAYERS (with ckpt: sft4j checkpoints only the first N layers, its gradient_checkpointing_layers).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
[ $# -ge 4 ] || { sed -n 2,9p "${BASH_SOURCE[0]}"; exit 2; }
cfg="$1" b="$2" t="$3" mode="$4" rank="${5:-0}" ckpt="${6:-}"
java="${JAVA:-java}"
lib="${LIB:-$ROOT/bench/target/classes:$ROOT/core/target/classes:$ROOT/bench/target/lib/*}"
hf="${HF_SCALE_BENCH:-$ROOT/../shared/fixtures/generate/hf_scale_bench.py}"
flags=()
[ "$rank" != 0 ] && flags+=(--lora "$rank")
[ "$ckpt" = ckpt ] && flags+=(--gradient-checkpointing)
[ -n "${BF16_UPDATE:-}" ] && flags+=(--bf16-update "$BF16_UPDATE")
[ -n "${CKPT_LAYERS:-}" ] && flags+=(--checkpoint-layers "$CKPT_LAYERS")
ours="$("$java" -Xmx"${SFT4J_HEAP:-24g}" -cp "$lib" org.sft4j.bench.TrainStepBench "$cfg" gpu "$b" "$t" 10 "$mode" 1.0 \
        "${flags[@]}" | tee /dev/stderr | tail -1)"
theirs="$("${PYTHON:-python3}" "$hf" "$cfg" "$b" "$t" "$mode" "$rank" $ckpt | tail -1)"
echo "$ours"
echo "$theirs"
"${PYTHON:-python3}" - "$ours" "$theirs" <<'PY'
import json, sys
a, h = json.loads(sys.argv[1]), json.loads(sys.argv[2])
if 'error' in h or a.get('peak_gib_per_gpu') is None:
    print('ratio: n/a (transformers: %s)' % h.get('error', 'ok')); sys.exit(0)
print('sft4j / transformers: tokens/s %.2fx (target >= 1.1), peak memory %.1f vs %.1f GiB (target: not more)'
      % (a['tokens_per_s'] / h['tokens_per_s'], a['peak_gib_per_gpu'], h['peak_gib_per_gpu']))
PY
