"""Jupyter's own kernel conformance suite (jupyter_kernel_test, from Debian) against the installed kernel."""
import unittest

import jupyter_kernel_test

from common import KERNEL


class SftKernelConformance(jupyter_kernel_test.KernelTests):
    kernel_name = KERNEL
    language_name = "java"
    file_extension = ".jshell"

    code_hello_world = 'System.out.println("hello, world");'
    code_stderr = 'System.err.println("oops");'
    code_execute_result = [
        {"code": "6 * 7", "result": "42"},
        {"code": '"sft" + "4j"', "result": "sft4j"},
    ]
    code_display_data = [
        {"code": "display(org.sft4j.report.Charts.lossChart(List.of(1, 2), List.of(2.0, 1.0), List.of(), List.of()));",
         "mime": "image/png"},
        {"code": 'display(Table.create("t", IntColumn.create("x", 1)));', "mime": "text/html"},
    ]
    completion_samples = [{"text": "%sft.tr", "matches": {"sft.train"}}]
    complete_code_samples = ["1 + 1;", "int x = 3;"]
    incomplete_code_samples = ["for (int i = 0; i < 3; i++) {"]
    code_inspect_sample = "String.valueOf"
    code_generate_error = 'throw new IllegalStateException("expected failure");'


if __name__ == "__main__":
    unittest.main()
