"""Message-level checks the conformance suite does not make: live updates, interrupts, magic errors."""
import time
import unittest

from jupyter_client.manager import start_new_kernel

from common import KERNEL


class Protocol(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.km, cls.kc = start_new_kernel(kernel_name=KERNEL, startup_timeout=120)

    @classmethod
    def tearDownClass(cls):
        cls.kc.stop_channels()
        cls.km.shutdown_kernel(now=True)

    def run_cell(self, code, timeout=120):
        msgs = []
        reply = self.kc.execute_interactive(code, timeout=timeout, output_hook=msgs.append)
        return reply, msgs

    def test_a_display_is_updated_in_place(self):
        code = ("List<Integer> s = new ArrayList<>(List.of(1)); List<Double> l = new ArrayList<>(List.of(3.0));\n"
                "String id = display(org.sft4j.report.Charts.lossChart(s, l, List.of(), List.of()));\n"
                "for (int i = 2; i < 6; i++) { s.add(i); l.add(3.0 / i); "
                "updateDisplay(id, org.sft4j.report.Charts.lossChart(s, l, List.of(), List.of())); }")
        reply, msgs = self.run_cell(code)
        self.assertEqual("ok", reply["content"]["status"])
        shown = [m for m in msgs if m["msg_type"] == "display_data"]
        updates = [m for m in msgs if m["msg_type"] == "update_display_data"]
        self.assertEqual(1, len(shown))
        self.assertEqual(4, len(updates))
        display_id = shown[0]["content"]["transient"]["display_id"]
        self.assertTrue(all(u["content"]["transient"]["display_id"] == display_id for u in updates))
        self.assertNotEqual(shown[0]["content"]["data"]["image/png"], updates[-1]["content"]["data"]["image/png"],
                            "the final frame differs from the first")

    def test_unknown_magic_names_the_known_ones(self):
        reply, msgs = self.run_cell("%sft.trian")
        self.assertEqual("error", reply["content"]["status"])
        self.assertIn("%sft.train", reply["content"]["evalue"])
        reply, _ = self.run_cell("1 + 1")
        self.assertEqual("ok", reply["content"]["status"], "the kernel survives")

    def test_interrupt_stops_a_running_cell(self):
        self.kc.execute("while (true) { Thread.onSpinWait(); }")
        time.sleep(2)
        start = time.time()
        self.km.interrupt_kernel()
        reply = self.kc.get_shell_msg(timeout=30)
        self.assertLess(time.time() - start, 30)
        self.assertEqual("execute_reply", reply["msg_type"])
        reply, msgs = self.run_cell("40 + 2")
        results = [m for m in msgs if m["msg_type"] == "execute_result"]
        self.assertEqual("42", results[0]["content"]["data"]["text/plain"])


if __name__ == "__main__":
    unittest.main()
