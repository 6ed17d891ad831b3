"""bin/lib/run_notebook.py, the runner behind `bin/sft4j quickstart`: what it prints on the terminal while a notebook
runs (each cell as it starts, then the progress lines of its live displays), and the executed copy it writes."""
import importlib.util
import io
import unittest

import nbformat

from common import ROOT


def runner():
    spec = importlib.util.spec_from_file_location("run_notebook", ROOT / "bin/lib/run_notebook.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class ProgressLines(unittest.TestCase):

    def test_cells_and_progress_are_printed_and_the_last_line_of_a_cell_is_never_lost(self):
        out = io.StringIO()
        p = runner().Progress(out, 12)
        p.cell(5, "%sft.data --show 4\n")
        p.line("tokenizing: 512 examples read, 490 kept")
        p.line("Prepared 19269 training and 200 validation examples")   # within the throttle: held back ...
        p.cell_done()                                                      # ... and printed when the cell ends
        p.cell(7, "\n%sft.train")
        p.line("5/500 step 5/500 · loss 10.02 · 1297 tok/s · ETA 729 s")
        p.line("500/500 finished at step 500; model: runs/quickstart/checkpoint-500")
        text = out.getvalue()
        self.assertEqual(["[6/12] %sft.data --show 4",
                          "        tokenizing: 512 examples read, 490 kept",
                          "        Prepared 19269 training and 200 validation examples",
                          "[8/12] %sft.train",
                          "        500/500 finished at step 500; model: runs/quickstart/checkpoint-500"],
                         text.splitlines())

    def test_streams_are_coalesced_as_nbconvert_leaves_them(self):
        nb = nbformat.v4.new_notebook()
        cell = nbformat.v4.new_code_cell("files")
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="a\n"),
                        nbformat.v4.new_output("stream", name="stdout", text="b\n"),
                        nbformat.v4.new_output("stream", name="stderr", text="warn\n")]
        nb.cells.append(cell)
        runner().coalesce_streams(nb)
        self.assertEqual(["a\nb\n", "warn\n"], [o.text for o in nb.cells[0].outputs])


if __name__ == "__main__":
    unittest.main()
