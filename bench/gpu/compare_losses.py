"""Compares the per-step losses of two runs (e.g. 1 GPU and 2 GPUs, same global batch): the lines DataParallelCheck,
LaunchCheck or ShardedBench printed, or two runs' metrics.jsonl (full precision).
Usage: python3 compare_losses.py RUN_A.log|A/metrics.jsonl RUN_B.log|B/metrics.jsonl [BOUND]"""
import json
import re
import sys


def losses(path):
    if path.endswith(".jsonl"):
        return [json.loads(line)["loss"] for line in open(path) if '"loss"' in line]
    return [float(m.group(1)) for m in re.finditer(r"^step \d+ loss (\S+)", open(path).read(), re.M)]


a, b = losses(sys.argv[1]), losses(sys.argv[2])
bound = float(sys.argv[3]) if len(sys.argv) > 3 else 1e-3
assert a and len(a) == len(b), f"{len(a)} vs {len(b)} steps"
worst = max(abs(x - y) / abs(x) for x, y in zip(a, b))
for i, (x, y) in enumerate(zip(a, b), 1):
    print(f"step {i:2d}  {x:.7f}  {y:.7f}  rel. diff {abs(x - y) / abs(x):.2e}")
print(f"worst relative difference over {len(a)} steps: {worst:.2e} ({'within' if worst <= bound else 'NOT within'} {bound:g})")
