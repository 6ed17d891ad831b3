package org.sft4j.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import org.sft4j.nd.Compute;
import org.sft4j.nd.Tensors;

/**
 * Rotary position embeddings of one layer type: {@code x * cos + rotate_half(x) * sin} over the first R dimensions of
 * each head. The cos/sin rows of every position are computed once on the host (fp32 angles, as transformers computes
 * them, times longrope's attention factor) and kept on the model's device; a forward pass looks its positions up in
 * them, so positions may restart inside a packed row and no table is rebuilt or uploaded per step. The tables are
 * kept in the activations' type (bf16 under bf16-true). The sin table carries rotate_half's sign (its first half
 * negated, see {@link Compute#rope}): a rotation then swaps x's halves without negating one, two operations and their
 * backward nodes fewer per call, for the same bits ({@code -a * b} and {@code a * -b} round alike).
 *
 * <p>Longrope keeps two sets, as transformers switches per forward pass: the short factors while every position is
 * below the original context, the long ones for a pass that goes beyond it.
 */
final class Rope {

    private final RopeConfig cfg;
    private final NDManager owner;
    private final DataType dataType;
    private final Compute compute;
    private final Tables shortContext;
    private final Tables longContext;

    /**
     * @param owner the manager that holds the cached tables (the model's)
     * @param dataType the model's DJL type (the tables are converted to it when it is not fp32)
     */
    Rope(RopeConfig cfg, NDManager owner, DataType dataType, Compute compute) {
        this.cfg = cfg;
        this.owner = owner;
        this.dataType = dataType;
        this.compute = compute;
        this.shortContext = new Tables(cfg.inverseFrequencies(false));
        this.longContext = cfg.type().equals("longrope") ? new Tables(cfg.inverseFrequencies(true)) : shortContext;
    }

    /** cos and sin [B, T, 1, R] (sin with rotate_half's sign) for the given positions, attached to {@code scope}. */
    NDList tables(NDManager scope, long[][] positionIds) {
        int b = positionIds.length;
        int t = positionIds[0].length;
        long[] flat = new long[b * t];
        long max = 0;
        for (int i = 0; i < b; i++) {
            for (int j = 0; j < t; j++) {
                long p = positionIds[i][j];
                if (p < 0) {
                    throw new IllegalArgumentException("negative position id " + p + " in row " + i);
                }
                flat[i * t + j] = p;
                max = Math.max(max, p);
            }
        }
        Tables set = cfg.usesLongFactors(max) ? longContext : shortContext;
        set.ensure(max + 1);
        NDArray ids = scope.create(flat, new Shape(b, t));
        return new NDList(lookup(ids, set.cos, b, t), lookup(ids, set.sin, b, t));
    }

    private NDArray lookup(NDArray ids, NDArray table, int b, int t) {
        return Tensors.embedding(ids, table).reshape(b, t, 1, cfg.rotaryDim());   // broadcast over the heads
    }

    /** The cos and sin tables of one set of inverse frequencies, grown as longer positions come. */
    private final class Tables {
        private final float[] invFreq;
        private int positions;
        private NDArray cos;
        private NDArray sin;

        Tables(float[] invFreq) {
            this.invFreq = invFreq;
        }

        /** Builds (or grows) the tables to cover positions [0, needed). */
        synchronized void ensure(long needed) {
            if (needed <= positions) {
                return;
            }
            int n = (int) Math.max(needed, Math.max(1024, 2L * positions));
            close();
            int width = cfg.rotaryDim();
            int half = width / 2;
            float scale = (float) cfg.attentionFactor();
            float[] c = new float[n * width];
            float[] s = new float[n * width];
            for (int p = 0; p < n; p++) {
                int base = p * width;
                for (int k = 0; k < half; k++) {
                    float angle = invFreq[k] * (float) p; // fp32 product, as transformers computes the angles
                    float cv = (float) Math.cos(angle) * scale;
                    float sv = (float) Math.sin(angle) * scale;
                    c[base + k] = cv;
                    c[base + k + half] = cv;
                    s[base + k] = -sv;           // rotate_half's sign, see the class comment
                    s[base + k + half] = sv;
                }
            }
            cos = table(c, n);
            sin = table(s, n);
            positions = n;
        }

        /** One table [n, R] in the model's manager and the activations' type. */
        private NDArray table(float[] values, int n) {
            NDArray fp32 = owner.create(values, new Shape(n, cfg.rotaryDim()));
            NDArray typed = dataType == DataType.FLOAT32 ? fp32 : fp32.toType(dataType, false);
            NDArray table = compute.activations(typed);
            if (typed != fp32 && typed != table) {
                typed.close();
            }
            if (fp32 != table) {
                fp32.close();
            }
            // kept: the first forward may run inside a step scope, which would free it with the step
            return Tensors.keep(table, owner);
        }

        private void close() {
            for (NDArray a : new NDArray[] {cos, sin}) {
                if (a != null) {
                    a.close();
                }
            }
            cos = sin = null;
        }
    }
}
