"""Every notebook executed headlessly (SFT4J_SMOKE keeps them small) and its saved outputs checked."""
import base64
import json
import unittest

from common import cell_with, execute, outputs


def images(nb):
    return [o for _, o in outputs(nb) if "image/png" in o.get("data", {})]


def htmls(nb):
    return [o["data"]["text/html"] for _, o in outputs(nb) if "text/html" in o.get("data", {})]


class Notebooks(unittest.TestCase):

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


if __name__ == "__main__":
    unittest.main()
