"""Shared helpers of the Jupyter-level tests: which kernelspec, where notebooks are executed."""
import os
import subprocess
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[2]
KERNEL = os.environ.get("SFT4J_KERNEL", "sft4j")
OUT = Path(os.environ.get("SFT4J_NOTEBOOK_OUT", ROOT / "build" / "notebooks"))


def execute(name, timeout=1800):
    """Runs notebooks/<name>.ipynb through bin/lib/run-notebook.sh and returns the executed notebook."""
    subprocess.run([str(ROOT / "bin/lib/run-notebook.sh"), str(ROOT / "notebooks" / f"{name}.ipynb")],
                   check=True, timeout=timeout, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    return nbformat.read(OUT / f"{name}.executed.ipynb", as_version=4)


def outputs(nb):
    """(cell index, output) of every code cell output."""
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            for o in cell.outputs:
                yield i, o


def cell_with(nb, text):
    """The first code cell whose source contains text."""
    for cell in nb.cells:
        if cell.cell_type == "code" and text in cell.source:
            return cell
    raise AssertionError(f"no cell contains {text!r}")
