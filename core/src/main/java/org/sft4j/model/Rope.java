package org.sft4j.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

/**
 * Rotary position embeddings: {@code x * cos + rotate_half(x) * sin}, with the tables computed on the
 * host from arbitrary position ids (so positions can restart inside a packed row).
 */
final class Rope {

    private final float[] invFreq;
    private final int headDim;

    Rope(RopeConfig cfg, int headDim) {
        this.invFreq = cfg.inverseFrequencies(headDim);
        this.headDim = headDim;
    }

    /** cos and sin tables [B, 1, T, D] for the given positions. */
    NDList tables(NDManager m, long[][] positions, DataType dtype) {
        int b = positions.length;
        int t = positions[0].length;
        int half = headDim / 2;
        float[] cos = new float[b * t * headDim];
        float[] sin = new float[b * t * headDim];
        for (int i = 0; i < b; i++) {
            for (int j = 0; j < t; j++) {
                float p = positions[i][j];
                int base = (i * t + j) * headDim;
                for (int k = 0; k < half; k++) {
                    float angle = invFreq[k] * p; // fp32 product, as transformers computes the angles
                    float c = (float) Math.cos(angle);
                    float s = (float) Math.sin(angle);
                    cos[base + k] = c;
                    cos[base + k + half] = c;
                    sin[base + k] = s;
                    sin[base + k + half] = s;
                }
            }
        }
        Shape shape = new Shape(b, 1, t, headDim);
        NDArray c = m.create(cos, shape);
        NDArray s = m.create(sin, shape);
        if (dtype != DataType.FLOAT32) {
            c = c.toType(dtype, false);
            s = s.toType(dtype, false);
        }
        return new NDList(c, s);
    }

    /** Applies the rotation to x [B, H, T, D]. */
    static NDArray apply(NDArray x, NDArray cos, NDArray sin) {
        NDList halves = x.split(2, 3);
        NDArray rotated = halves.get(1).neg().concat(halves.get(0), 3);
        return x.mul(cos).add(rotated.mul(sin));
    }
}
