#!/usr/bin/env bash
# Does pure bf16 keep its updates? Loss curves on one fixed random batch at a fine-tuning learning rate, side by side:
#   bench/gpu/bf16_curves.sh CONFIG_DIR [B T STEPS LR]        (defaults 1 2048 16 7e-6: issue 17's 7B case)
# sft4j: bf16-true with bf16_update nearest (torch's rounding), stochastic (the default) and kahan, and bf16-mixed
# (fp32 master weights); transformers: pure bf16 and bf16-mixed (hf_loss_curve.py). Prints each run's losses as one
# column per run. Environment as bench/gpu/scale_row.sh (JAVA, LIB, SFT4J_NATIVE, PYTHON, SFT4J_HEAP).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cfg="$1" b="${2:-1}" t="${3:-2048}" steps="${4:-16}" lr="${5:-7e-6}"
java="${JAVA:-java}"
lib="${LIB:-$ROOT/bench/target/classes:$ROOT/core/target/classes:$ROOT/bench/target/lib/*}"
out="$(mktemp -d)"
sft4j() {   # name mode [flags]: TrainStepBench runs 3 warm-up + (STEPS - 3) steps, printing every loss
    "$java" -Xmx"${SFT4J_HEAP:-24g}" -cp "$lib" org.sft4j.bench.TrainStepBench "$cfg" gpu "$b" "$t" "$((steps - 3))" \
        "$2" 1.0 --lr "$lr" --loss-every-step "${@:3}" | grep '^{"step"' > "$out/$1"
}
sft4j sft4j-bf16-true-nearest pure-bf16 --bf16-update nearest
sft4j sft4j-bf16-true-stochastic pure-bf16 --bf16-update stochastic
sft4j sft4j-bf16-true-kahan pure-bf16 --bf16-update kahan
sft4j sft4j-bf16-mixed bf16-mixed
"${PYTHON:-python3}" "$ROOT/bench/gpu/hf_loss_curve.py" "$cfg" "$b" "$t" "$steps" "$lr" pure-bf16 > "$out/hf-pure-bf16"
"${PYTHON:-python3}" "$ROOT/bench/gpu/hf_loss_curve.py" "$cfg" "$b" "$t" "$steps" "$lr" bf16-mixed > "$out/hf-bf16-mixed"
"${PYTHON:-python3}" - "$out" <<'PY'
import json, os, sys
runs = sorted(os.listdir(sys.argv[1]))
cols = {r: [json.loads(l)['loss'] for l in open(os.path.join(sys.argv[1], r))] for r in runs}
print('step ' + ' '.join('%26s' % r for r in runs))
for i in range(max(len(c) for c in cols.values())):
    print('%4d ' % (i + 1) + ' '.join('%26s' % ('%.4f' % cols[r][i] if i < len(cols[r]) else '-') for r in runs))
PY
