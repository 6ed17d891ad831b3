package org.sft4j.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import org.sft4j.base.UserError;
import org.sft4j.nd.StepScope;
import org.sft4j.nd.Tensors;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.function.IntConsumer;

/**
 * Continues a batch of prompts token by token with a KV cache: the prompts are left-padded to one
 * length and run once (prefill), then each step feeds only the newest token of every row.
 */
public final class Generator {

    private final Decoder model;

    public Generator(Decoder model) {
        this.model = model;
    }

    /** Result for one prompt: the new tokens (a stop token included, as transformers returns it). */
    public record Output(int[] tokens, boolean stopped) {}

    /** Generates for every prompt; {@code progress} is told the number of steps done (may be null). */
    public List<Output> generate(List<int[]> prompts, GenerationOptions opt, IntConsumer progress) {
        int b = prompts.size();
        int longest = prompts.stream().mapToInt(p -> p.length).max().orElse(0);
        if (longest == 0) {
            throw new UserError("every prompt is empty: generation needs at least one token");
        }
        long[][] ids = new long[b][longest];
        int[][] mask = new int[b][longest];
        for (int i = 0; i < b; i++) {
            int[] p = prompts.get(i);
            if (p.length == 0) {
                throw new UserError("prompt " + i + " is empty");
            }
            int pad = longest - p.length;
            Arrays.fill(ids[i], 0, pad, opt.padId());
            for (int j = 0; j < p.length; j++) {
                ids[i][pad + j] = p[j];
                mask[i][pad + j] = 1;
            }
        }
        List<List<Integer>> out = new ArrayList<>();
        boolean[] done = new boolean[b];
        for (int i = 0; i < b; i++) {
            out.add(new ArrayList<>());
        }
        Random rnd = new Random(opt.seed());
        boolean grad = Tensors.gradMode(false);
        KvCache cache = null;
        try (NDManager gen = model.manager().newSubManager()) {
            cache = opt.useCache() ? model.newCache(gen) : null;
            ModelInputs step = ModelInputs.withMask(ids, mask);
            long[] nextPos = new long[b];
            for (int i = 0; i < b; i++) {
                nextPos[i] = prompts.get(i).length;
            }
            long[][] allIds = ids;
            int[][] allMask = mask;
            for (int s = 0; s < opt.maxNewTokens(); s++) {
                int[] next;
                try (StepScope scope = StepScope.open(gen)) {
                    NDArray hidden = model.forward(step, scope.manager(), cache, false);
                    long t = hidden.getShape().get(1);
                    NDArray last = hidden.get(new NDIndex(":, " + (t - 1)));          // (B, hidden)
                    NDArray logits = model.logits(last);                              // (B, V)
                    next = opt.greedy() ? argmax(logits) : sample(logits, opt, rnd);
                }
                boolean all = true;
                for (int i = 0; i < b; i++) {
                    if (done[i]) {
                        next[i] = opt.padId();
                    } else {
                        out.get(i).add(next[i]);
                        done[i] = contains(opt.stopIds(), next[i]);
                    }
                    all &= done[i];
                }
                if (progress != null) {
                    progress.accept(s + 1);
                }
                if (all) {
                    break;
                }
                allIds = append(allIds, next);
                allMask = appendOnes(allMask);
                if (cache != null && !model.ropeSwitchesAt(max(nextPos))) {
                    step = single(next, nextPos);
                } else {
                    // no cache, or longrope switching to its long factors: every key is computed again with them,
                    // as transformers' Phi-3 means to (its generate drops the cache there)
                    if (cache != null) {
                        cache.close();
                        cache = model.newCache(gen);
                    }
                    step = ModelInputs.withMask(allIds, allMask);
                }
                for (int i = 0; i < b; i++) {
                    nextPos[i]++;
                }
            }
        } finally {
            if (cache != null) {
                cache.close();
            }
            Tensors.gradMode(grad);
        }
        List<Output> result = new ArrayList<>();
        for (int i = 0; i < b; i++) {
            int[] toks = out.get(i).stream().mapToInt(Integer::intValue).toArray();
            result.add(new Output(toks, done[i]));
        }
        return result;
    }

    private static ModelInputs single(int[] next, long[] pos) {
        int b = next.length;
        long[][] ids = new long[b][1];
        long[][] p = new long[b][1];
        int[][] m = new int[b][1];
        for (int i = 0; i < b; i++) {
            ids[i][0] = next[i];
            p[i][0] = pos[i];
            m[i][0] = 1;
        }
        return new ModelInputs(ids, p, m, null);
    }

    private static long max(long[] xs) {
        long m = Long.MIN_VALUE;
        for (long x : xs) {
            m = Math.max(m, x);
        }
        return m;
    }

    private static long[][] append(long[][] ids, int[] next) {
        long[][] out = new long[ids.length][];
        for (int i = 0; i < ids.length; i++) {
            out[i] = Arrays.copyOf(ids[i], ids[i].length + 1);
            out[i][ids[i].length] = next[i];
        }
        return out;
    }

    private static int[][] appendOnes(int[][] mask) {
        int[][] out = new int[mask.length][];
        for (int i = 0; i < mask.length; i++) {
            out[i] = Arrays.copyOf(mask[i], mask[i].length + 1);
            out[i][mask[i].length] = 1;
        }
        return out;
    }

    private static int[] argmax(NDArray logits) {
        long[] a = logits.argMax(-1).toLongArray();
        int[] r = new int[a.length];
        for (int i = 0; i < a.length; i++) {
            r[i] = (int) a[i];
        }
        return r;
    }

    /** Temperature, then the smallest set of tokens whose probability reaches top_p, then one draw. */
    private static int[] sample(NDArray logits, GenerationOptions opt, Random rnd) {
        float[] all = Tensors.toFloats(logits);
        int b = (int) logits.getShape().get(0);
        int v = (int) logits.getShape().get(1);
        int[] r = new int[b];
        for (int i = 0; i < b; i++) {
            double max = Double.NEGATIVE_INFINITY;
            for (int j = 0; j < v; j++) {
                max = Math.max(max, all[i * v + j] / opt.temperature());
            }
            double[] p = new double[v];
            double z = 0;
            for (int j = 0; j < v; j++) {
                p[j] = Math.exp(all[i * v + j] / opt.temperature() - max);
                z += p[j];
            }
            Integer[] order = new Integer[v];
            for (int j = 0; j < v; j++) {
                order[j] = j;
                p[j] /= z;
            }
            Arrays.sort(order, (x, y) -> Double.compare(p[y], p[x]));
            double cum = 0;
            int keep = 0;
            while (keep < v && (keep == 0 || cum < opt.topP())) {
                cum += p[order[keep++]];
            }
            double u = rnd.nextDouble() * cum;
            double acc = 0;
            int pick = order[keep - 1];
            for (int k = 0; k < keep; k++) {
                acc += p[order[k]];
                if (u < acc) {
                    pick = order[k];
                    break;
                }
            }
            r[i] = pick;
        }
        return r;
    }

    private static boolean contains(int[] ids, int id) {
        for (int x : ids) {
            if (x == id) {
                return true;
            }
        }
        return false;
    }
}
