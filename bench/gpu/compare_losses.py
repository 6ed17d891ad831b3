"""Compares the per-step losses DataParallelCheck or LaunchCheck printed for two runs (e.g. 1 GPU and 2 GPUs, same global
batch). Usage: python3 compare_losses.py RUN_A.log RUN_B.log [BOUND]"""
import re
import sys


def losses(path):
    return [float(m.group(1)) for m in re.finditer(r"^step \d+ loss (\S+)", open(path).read(), re.M)]


a, b = losses(sys.argv[1]), losses(sys.argv[2])
bound = float(sys.argv[3]) if len(sys.argv) > 3 else 1e-3
assert a and len(a) == len(b), f"{len(a)} vs {len(b)} steps"
worst = max(abs(x - y) / abs(x) for x, y in zip(a, b))
for i, (x, y) in enumerate(zip(a, b), 1):
    print(f"step {i:2d}  {x:.7f}  {y:.7f}  rel. diff {abs(x - y) / abs(x):.2e}")
print(f"worst relative difference over {len(a)} steps: {worst:.2e} ({'within' if worst <= bound else 'NOT within'} {bound:g})")
