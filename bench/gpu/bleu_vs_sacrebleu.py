"""sft4j's bleu command against sacrebleu on the same files, end to end (process start included), same run.
Usage: python3 bleu_vs_sacrebleu.py REFS_GZ LINES -- JAVA_COMMAND...   (the command that runs sft4j's CLI)"""
import gzip
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time

import sacrebleu

refs_gz, lines = sys.argv[1], int(sys.argv[2])
java = sys.argv[sys.argv.index("--") + 1:]
with gzip.open(refs_gz, "rt", encoding="utf-8") as f:
    refs = [next(f).rstrip("\n") for _ in range(lines)]
# a hypothesis with errors: every line loses, repeats or swaps some words (deterministic)
rng = random.Random(7)
hyps = []
for r in refs:
    words = r.split()
    out = []
    for w in words:
        x = rng.random()
        if x < 0.15:
            continue
        out.append(w)
        if x > 0.93:
            out.append(w)
    if len(out) > 3 and rng.random() < 0.3:
        i = rng.randrange(len(out) - 1)
        out[i], out[i + 1] = out[i + 1], out[i]
    hyps.append(" ".join(out))
work = tempfile.mkdtemp()
ref_file, hyp_file = f"{work}/ref.de", f"{work}/hyp.de"
open(ref_file, "w", encoding="utf-8").write("\n".join(refs) + "\n")
open(hyp_file, "w", encoding="utf-8").write("\n".join(hyps) + "\n")

def timed(cmd):
    t = time.perf_counter()
    out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True).stdout
    return time.perf_counter() - t, out

runs = 5
sacre_cmd = [sys.executable, "-m", "sacrebleu", ref_file, "-i", hyp_file, "-m", "bleu", "chrf", "-f", "json"]
ours_cmd = java + ["bleu", "--hyp", hyp_file, "--ref", ref_file, "--metrics", "bleu,chrf", "--json"]
timed(sacre_cmd), timed(ours_cmd)   # warm the page cache for both
sacre_t, ours_t = [], []
for _ in range(runs):
    dt, sacre_out = timed(sacre_cmd); sacre_t.append(dt)
    dt, ours_out = timed(ours_cmd); ours_t.append(dt)
print("sacrebleu", sacrebleu.__version__, "CLI output:", sacre_out.strip())
print("sft4j output:", ours_out.strip())
api_bleu = sacrebleu.corpus_bleu(hyps, [refs]).score
api_chrf = sacrebleu.corpus_chrf(hyps, [refs]).score
print(f"sacrebleu API: BLEU {api_bleu:.4f} chrF {api_chrf:.4f}")
print(f"{lines} lines; median of {runs} end-to-end runs, process start included:")
print(f"  sacrebleu CLI  {statistics.median(sacre_t):.3f} s  {sorted(round(x, 3) for x in sacre_t)}")
print(f"  sft4j bleu     {statistics.median(ours_t):.3f} s  {sorted(round(x, 3) for x in ours_t)}")
print(f"  speed-up       {statistics.median(sacre_t) / statistics.median(ours_t):.2f}x")
