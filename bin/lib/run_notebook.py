#!/usr/bin/python3
"""Executes a notebook with an installed kernel (nbclient, as `jupyter nbconvert --execute` does) and says on the
terminal what it is doing: each cell as it starts and how long it took, and the progress lines of the cell's live
displays (examples tokenized, training steps, models evaluated), so a run of several minutes is never silent.

usage: run_notebook.py NOTEBOOK OUT_DIR   (SFT4J_KERNEL names the kernelspec, SFT4J_CELL_TIMEOUT the seconds per cell)
"""
import os
import re
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

# a progress bar's text ("120/500 step 120/500 · loss 2.31 · ...") or a data/eval note
PROGRESS = re.compile(r"^(\d+)/(\d+) |^tokenizing: |^(Prepared|Reused) ")


class Progress:
    """Prints cell starts and progress lines: rewritten in place on a terminal, one every few seconds in a log."""

    def __init__(self, out, cells):
        self.out = out
        self.tty = out.isatty()
        self.cells = cells
        self.last = 0.0
        self.open_line = False
        self.pending = None   # the latest progress line not yet printed (shown when its cell ends)
        self.started = time.monotonic()
        self.cell_started = self.started

    def cell(self, index, source):
        first = next((l for l in source.splitlines() if l.strip()), "")
        self.end_line()
        self.write(f"[{index + 1}/{self.cells}] {first[:100]}\n")
        self.cell_started = time.monotonic()

    def cell_done(self):
        if self.pending is not None:
            self.line(self.pending, last=True)
        self.end_line()
        took = time.monotonic() - self.cell_started
        if took >= 1:
            self.write(f"        done in {took:.0f} s\n")

    def line(self, text, last=False):
        now = time.monotonic()
        m = re.match(r"^(\d+)/(\d+) ", text)
        final = last or (m is not None and m.group(1) == m.group(2))
        if not final and now - self.last < (0.5 if self.tty else 10):
            self.pending = text
            return
        self.pending = None
        self.last = now
        if self.tty:
            self.write("\r\033[K        " + text[:150])
            self.open_line = True
            if final:
                self.end_line()
        else:
            self.write("        " + text[:150] + "\n")

    def end_line(self):
        if self.open_line:
            self.write("\n")
            self.open_line = False

    def write(self, s):
        self.out.write(s)
        self.out.flush()


class ProgressClient(NotebookClient):

    def __init__(self, nb, progress, **kw):
        super().__init__(nb, **kw)
        self.progress = progress
        self.on_cell_execute = lambda cell, cell_index, **_: progress.cell(cell_index, cell.source)
        self.on_cell_executed = lambda **_: progress.cell_done()

    def process_message(self, msg, cell, cell_index):
        if msg["msg_type"] in ("display_data", "update_display_data"):
            text = msg["content"].get("data", {}).get("text/plain", "")
            if "\n" not in text.strip() and PROGRESS.match(text):
                self.progress.line(text.strip())
        return super().process_message(msg, cell, cell_index)


def coalesce_streams(nb):
    """One output per run of same-named stream messages, as nbconvert leaves them (a println per line is one text)."""
    for cell in nb.cells:
        merged = []
        for o in cell.get("outputs", []):
            if merged and o.output_type == "stream" and merged[-1].output_type == "stream" and merged[-1].name == o.name:
                merged[-1].text += o.text
            else:
                merged.append(o)
        if "outputs" in cell:
            cell.outputs = merged


def main():
    nb_path, out_dir = Path(sys.argv[1]).resolve(), Path(sys.argv[2])
    out_dir.mkdir(parents=True, exist_ok=True)
    nb = nbformat.read(nb_path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    progress = Progress(sys.stdout, len(nb.cells))
    progress.write(f"running {nb_path.name} ({len(code)} code cells) with the {os.environ.get('SFT4J_KERNEL', 'sft4j')} "
                   "kernel\n")
    client = ProgressClient(nb, progress, kernel_name=os.environ.get("SFT4J_KERNEL", "sft4j"),
                            timeout=int(os.environ.get("SFT4J_CELL_TIMEOUT", "3600")),
                            resources={"metadata": {"path": str(nb_path.parent)}})
    failed = None
    try:
        client.execute()
    except CellExecutionError as e:
        failed = e
    coalesce_streams(nb)
    out = out_dir / (nb_path.stem + ".executed.ipynb")
    tmp = out.with_suffix(".tmp")
    nbformat.write(nb, tmp)
    tmp.replace(out)
    took = time.monotonic() - progress.started
    progress.end_line()
    if failed is not None:
        progress.write(f"a cell failed after {took:.0f} s (the executed notebook shows it: {out})\n{failed}\n")
        sys.exit(1)
    progress.write(f"executed in {int(took // 60)} min {int(took % 60)} s\n")


if __name__ == "__main__":
    main()
