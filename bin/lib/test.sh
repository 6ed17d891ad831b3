#!/usr/bin/env bash
# Every test: the Java suites of all modules, then the Jupyter-level tests (kernel conformance,
# display protocol, every notebook executed and its outputs checked, the quickstart in a real browser)
# against a kernelspec installed inside build/, not in the user's Jupyter.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
mvn -B verify

export JUPYTER_PATH="$ROOT/build/jupyter/share/jupyter"
export JUPYTER_DATA_DIR="$ROOT/build/jupyter/data" JUPYTER_CONFIG_DIR="$ROOT/build/jupyter/config"
export JUPYTER_RUNTIME_DIR="$ROOT/build/jupyter/runtime"
export SFT4J_KERNEL=sft4j-test SFT4J_NOTEBOOK_OUT="$ROOT/build/notebooks-test" SFT4J_SMOKE=1
"$ROOT/bin/sft4j" kernel install --prefix "$ROOT/build/jupyter" --name sft4j-test
/usr/bin/python3 -m unittest discover -s "$ROOT/tests/jupyter" -p 'test_*.py' -v "$@"
