#!/usr/bin/env bash
# Executes a notebook headlessly with the sft4j kernel and writes the executed copy (and an HTML export)
# to build/notebooks/. Extra arguments go to nbconvert. SFT4J_KERNEL names another installed kernelspec.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
nb="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
shift
out="${SFT4J_NOTEBOOK_OUT:-$ROOT/build/notebooks}"
mkdir -p "$out"
name="$(basename "$nb" .ipynb)"
# nbconvert starts the kernel in the notebook's folder, so notebooks use paths relative to it
/usr/bin/jupyter nbconvert --to notebook --execute \
    --ExecutePreprocessor.kernel_name="${SFT4J_KERNEL:-sft4j}" \
    --ExecutePreprocessor.timeout="${SFT4J_CELL_TIMEOUT:-3600}" \
    --output-dir "$out" --output "$name.executed.ipynb" "$@" "$nb"
/usr/bin/jupyter nbconvert --to html --output-dir "$out" --output "$name" "$out/$name.executed.ipynb" >/dev/null 2>&1 || true
echo "executed notebook: $out/$name.executed.ipynb"
