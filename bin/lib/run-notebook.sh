#!/usr/bin/env bash
# Executes a notebook headlessly with the sft4j kernel, printing each cell and its progress as it runs, and
# writes the executed copy (and an HTML export) to build/notebooks/. SFT4J_KERNEL names another installed
# kernelspec, SFT4J_NOTEBOOK_OUT another folder.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
nb="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
out="${SFT4J_NOTEBOOK_OUT:-$ROOT/build/notebooks}"
name="$(basename "$nb" .ipynb)"
# the kernel starts in the notebook's folder, so notebooks use paths relative to it
/usr/bin/python3 "$ROOT/bin/lib/run_notebook.py" "$nb" "$out"
/usr/bin/jupyter nbconvert --to html --output-dir "$out" --output "$name" "$out/$name.executed.ipynb" >/dev/null 2>&1 || true
echo "executed notebook: $out/$name.executed.ipynb"
