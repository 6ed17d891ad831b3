"""Every notebook executed headlessly (SFT4J_SMOKE keeps them small) and its saved outputs checked."""
import base64
import json
import re
import unittest

import nbformat

from common import ROOT, cell_with, execute, outputs


def images(nb):
    return [o for _, o in outputs(nb) if "image/png" in o.get("data", {})]


def htmls(nb):
    return [o["data"]["text/html"] for _, o in outputs(nb) if "text/html" in o.get("data", {})]


class Notebooks(unittest.TestCase):

    def test_teaching_notebooks_show_no_test_plumbing(self):
        for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
            for cell in nbformat.read(path, as_version=4).cells:
                if cell.cell_type == "code":
                    for plumbing in ("SFT4J_SMOKE", "Session.override", "NDManager", "org.sft4j.magics."):
                        self.assertNotIn(plumbing, cell.source, f"{path.name}: {cell.source[:80]}")

    def test_00_kernel_tour(self):
        nb = execute("00-kernel-tour")
        self.assertTrue(any("<table" in h for h in htmls(nb)), "an HTML table")
        pngs = images(nb)
        self.assertGreaterEqual(len(pngs), 3)
        for o in pngs:
            self.assertEqual(b"\x89PNG", base64.b64decode(o["data"]["image/png"])[:4])
        live = cell_with(nb, "updateDisplay(live")
        first, final = [o["data"]["image/png"] for o in live.outputs]
        self.assertNotEqual(first, final, "the updated display's final image differs from its first frame")
        err = cell_with(nb, "Integer.parseInt")
        self.assertEqual("error", err.outputs[0].output_type)
        self.assertIn("NumberFormatException", err.outputs[0].evalue)
        self.assertEqual("the kernel is still running", cell_with(nb, "still running").outputs[0]["data"]["text/plain"])

    def test_01_quickstart(self):
        nb = execute("01-quickstart")
        data = cell_with(nb, "%sft.data")
        html = " ".join(o["data"].get("text/html", "") for o in data.outputs if "data" in o)
        self.assertIn("first examples", html)
        self.assertIn("Masking preview", html)
        self.assertIn("supervised tokens", html)
        self.assertTrue(any("image/png" in o.get("data", {}) for o in data.outputs), "the length histogram")
        train = cell_with(nb, "%sft.train")
        self.assertTrue(any("image/png" in o.get("data", {}) for o in train.outputs), "the loss chart")
        summary = " ".join(o["data"].get("text/plain", "") for o in train.outputs if "data" in o)
        self.assertIn("completed", summary)
        ev = cell_with(nb, "%sft.eval")
        text = " ".join(o["data"].get("text/plain", "") for o in ev.outputs if "data" in o)
        self.assertIn("BLEU", text)
        self.assertIn("checkpoint-12", text)
        self.assertIn("nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp", text)
        listing = cell_with(nb, "Files.list").outputs[0]["text"]
        for f in ["checkpoint-12", "metrics.jsonl", "eval", "loss.png", "run.json"]:
            self.assertIn(f, listing)

    def test_02_instruction_tuning(self):
        nb = execute("02-instruction-tuning")
        data = " ".join(htmls_of(cell_with(nb, "%sft.data")))
        self.assertIn("&lt;|im_start|&gt;assistant", data, "SmolLM2's chat template rendered")
        self.assertIn("dropped: longer than cutoff_len", data)
        train = texts_of(cell_with(nb, "%sft.train"))
        self.assertIn("completed", train)
        self.assertIn("checkpoint-6", train)
        merge = cell_with(nb, "mergeAdapter").outputs[0]["text"]
        diff = float(re.search(r"max \|merged - base\+adapter\| over \d+ logits: (\S+)", merge).group(1))
        self.assertLess(diff, 1e-4, "merging the adapter leaves the logits unchanged")
        for f in ["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"]:
            self.assertIn(f, merge)
        self.assertIn("<|im_start|>assistant", cell_with(nb, "Generator(m)").outputs[0]["text"])
        export = texts_of(cell_with(nb, "%sft.export"))
        for f in ["train.yaml", "dataset_info.json", "sft4j_export.jsonl"]:
            self.assertIn(f, export)

    def test_03_translation_sft(self):
        nb = execute("03-translation-sft")
        self.assertRegex(texts_of(cell_with(nb, "TextParquetWriter")), r"kept \d+, filtered \d+")
        train = cell_with(nb, "%%sft.train")
        text = texts_of(train)
        self.assertIn("'plot_loss' does not apply", text, "LLaMA-Factory keys sft4j ignores are named")
        self.assertNotIn("'deepspeed' does not apply", text, "deepspeed is read (ZeRO for several processes)")
        self.assertIn("completed", text)
        self.assertTrue(any("image/png" in o.get("data", {}) for o in train.outputs), "the loss chart")
        ev = texts_of(cell_with(nb, "%sft.eval"))
        self.assertRegex(ev, r"base\s+0\s+[\d.]+\s+[\d,.]+\s+[\d.]+\s+[\d.]+", "a score row for the base model")
        self.assertIn("checkpoint-6", ev)
        self.assertIn("nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp", ev)

    def test_04_multi_gpu(self):
        nb = execute("04-multi-gpu")
        gpus = int(cell_with(nb, "getGpuCount").outputs[-1]["data"]["text/plain"])
        if gpus == 0:
            self.assertIn("no GPU here", texts_of(cell_with(nb, "gpus > 0")))
        yaml = cell_with(nb, "train.yaml").outputs[0]["data"]["text/plain"]
        self.assertIn("deepspeed:", yaml)
        self.assertIn("per_device_train_batch_size: 2", yaml)
        self.assertIn("gradient_accumulation_steps: 4", yaml)
        self.assertIn("disable_gradient_checkpointing: false", yaml, "gradient_checkpointing reaches the exported job")

    def test_05_data_debugging(self):
        nb = execute("05-data-debugging")
        broken = [o for o in cell_with(nb, "%sft.data --model_name_or_path").outputs if o.output_type == "error"][0]
        self.assertEqual("error", broken.output_type)
        self.assertIn("messy.jsonl:42", broken.evalue, "the error names the file and line")
        report = texts_of(cell_with(nb, "--on_error skip"))
        self.assertIn("dropped: malformed row (on_error: skip)  1", report)
        self.assertIn("dropped: longer than cutoff_len          1", report)
        self.assertIn("dropped: empty response                  1", report)
        wrong_template = texts_of(nb.cells[7])
        self.assertIn("answers not ending in an end token       40", wrong_template)
        self.assertIn("Assistant:·Hello[·]", wrong_template, "the preview shows the answer's first word masked")
        fixed = texts_of(nb.cells[9])
        self.assertIn("answers not ending in an end token       0", fixed)
        self.assertIn("assistant↵[Hello]", fixed)


def texts_of(cell):
    return " ".join(o.get("text", "") or o.get("data", {}).get("text/plain", "") for o in cell.outputs)


def htmls_of(cell):
    return [o["data"]["text/html"] for o in cell.outputs if "text/html" in o.get("data", {})]


if __name__ == "__main__":
    unittest.main()
