"""Kernel start to first executed cell result, median of 5, beside a bare jshell running the same snippet.
Target: ratio <= 1.5. Run with Debian's python3 (jupyter_client) after installing the kernelspec:
    /usr/bin/python3 bench/kernel_start.py [KERNEL_NAME]"""
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from jupyter_client.manager import start_new_kernel

KERNEL = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("SFT4J_KERNEL", "sft4j")
SNIPPET = "System.out.println(1 + 1);"


def kernel_once():
    t0 = time.perf_counter()
    km, kc = start_new_kernel(kernel_name=KERNEL, startup_timeout=120)
    out = []
    kc.execute_interactive(SNIPPET, timeout=120, output_hook=lambda m: out.append(m))
    elapsed = time.perf_counter() - t0
    assert any(m["msg_type"] == "stream" and "2" in m["content"]["text"] for m in out), out
    kc.stop_channels()
    km.shutdown_kernel(now=True)
    return elapsed


def jshell_once(script):
    t0 = time.perf_counter()
    r = subprocess.run([shutil.which("jshell"), "-q", script], capture_output=True, text=True, timeout=120)
    elapsed = time.perf_counter() - t0
    assert r.stdout.strip().endswith("2"), r.stdout + r.stderr
    return elapsed


def main():
    with tempfile.NamedTemporaryFile("w", suffix=".jsh", delete=False) as f:
        f.write(SNIPPET + "\n/exit\n")
    jshell_once(f.name)
    kernel_once()  # warm the OS caches for both
    k = [kernel_once() for _ in range(5)]
    j = [jshell_once(f.name) for _ in range(5)]
    print(f"kernel start -> first cell result, median of 5: {statistics.median(k):.2f} s  {['%.2f' % x for x in k]}")
    print(f"bare jshell running the same snippet, median of 5: {statistics.median(j):.2f} s  {['%.2f' % x for x in j]}")
    print(f"ratio kernel/jshell (target <= 1.5): {statistics.median(k) / statistics.median(j):.2f}")


if __name__ == "__main__":
    main()
