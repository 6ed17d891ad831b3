package org.sft4j.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import org.sft4j.nd.NativeOps;
import org.sft4j.nd.Tensors;

/**
 * Rotary position embeddings: {@code x * cos + rotate_half(x) * sin}. The cos/sin rows of every position are
 * computed once on the host (fp32 angles, as transformers computes them) and kept on the model's device; a
 * forward pass looks its positions up in them, so positions may restart inside a packed row and no table is
 * rebuilt or uploaded per step.
 */
final class Rope {

    private final float[] invFreq;
    private final int headDim;
    private final NDManager owner;
    private int positions;
    private NDArray cos;
    private NDArray sin;
    private NDArray cos16;
    private NDArray sin16;

    /** @param owner the manager that holds the cached tables (the model's) */
    Rope(RopeConfig cfg, int headDim, NDManager owner) {
        this.invFreq = cfg.inverseFrequencies(headDim);
        this.headDim = headDim;
        this.owner = owner;
    }

    /**
     * cos and sin [B, 1, T, D] for the given positions, attached to {@code scope}.
     *
     * @param bf16 the tables in bf16 (pure bf16 compute); otherwise in {@code dtype}
     */
    NDList tables(NDManager scope, long[][] positionIds, DataType dtype, boolean bf16) {
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
        ensure(max + 1, bf16);
        NDArray ids = scope.create(flat, new Shape(b, t));
        NDArray c = lookup(ids, bf16 ? cos16 : cos, b, t);
        NDArray s = lookup(ids, bf16 ? sin16 : sin, b, t);
        if (!bf16 && dtype != DataType.FLOAT32) {
            c = c.toType(dtype, false);
            s = s.toType(dtype, false);
        }
        return new NDList(c, s);
    }

    private NDArray lookup(NDArray ids, NDArray table, int b, int t) {
        return JniUtils.embedding((PtNDArray) ids, (PtNDArray) table, false).reshape(b, 1, t, headDim);
    }

    /** Builds (or grows) the tables to cover positions [0, needed). */
    private synchronized void ensure(long needed, boolean bf16) {
        if (needed > positions) {
            int n = (int) Math.max(needed, Math.max(1024, 2L * positions));
            close();
            int half = headDim / 2;
            float[] c = new float[n * headDim];
            float[] s = new float[n * headDim];
            for (int p = 0; p < n; p++) {
                int base = p * headDim;
                for (int k = 0; k < half; k++) {
                    float angle = invFreq[k] * (float) p; // fp32 product, as transformers computes the angles
                    float cv = (float) Math.cos(angle);
                    float sv = (float) Math.sin(angle);
                    c[base + k] = cv;
                    c[base + k + half] = cv;
                    s[base + k] = sv;
                    s[base + k + half] = sv;
                }
            }
            // kept: the first forward may run inside an NDScope, which would free them with the step
            cos = Tensors.keep(owner.create(c, new Shape(n, headDim)), owner);
            sin = Tensors.keep(owner.create(s, new Shape(n, headDim)), owner);
            positions = n;
        }
        if (bf16 && cos16 == null) {
            cos16 = Tensors.keep(NativeOps.cast(cos, NativeOps.BFLOAT16), owner);
            sin16 = Tensors.keep(NativeOps.cast(sin, NativeOps.BFLOAT16), owner);
        }
    }

    private void close() {
        for (NDArray a : new NDArray[] {cos, sin, cos16, sin16}) {
            if (a != null) {
                a.close();
            }
        }
        cos = sin = cos16 = sin16 = null;
    }

    /** Applies the rotation to x [B, H, T, D]. */
    static NDArray apply(NDArray x, NDArray cos, NDArray sin) {
        NDList halves = x.split(2, 3);
        NDArray rotated = halves.get(1).neg().concat(halves.get(0), 3);
        return x.mul(cos).add(rotated.mul(sin));
    }
}
