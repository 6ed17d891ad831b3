package org.sft4j.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

/**
 * Builds the additive attention mask [B, 1, T, S] (0 where a query may look, a large negative number
 * where it may not) from the batch and what the KV cache already holds.
 *
 * <p>A query at global index q may attend key k when: the key is a real token, k ≤ q (causal), both
 * belong to the same packed segment, and q - k is inside the sliding window when there is one.
 */
final class AttentionMask {

    private AttentionMask() {}

    /**
     * @param keyValid validity of every key [B][S], past keys first
     * @param segments segment of every key [B][S], or null when rows are not packed
     * @param past number of keys already in the cache (the first query's global index)
     * @param queries number of new tokens T
     * @param window sliding window, 0 for none
     * @param firstKey the global index of the first key the layers attend to (a windowed cache drops older ones):
     *        the mask's columns are keys firstKey..S-1
     */
    static NDArray build(NDManager m, int[][] keyValid, int[][] segments, int past, int queries, int window,
                         DataType dtype, int firstKey) {
        int b = keyValid.length;
        int s = keyValid[0].length - firstKey;
        // fp32's lowest finite value, as transformers uses finfo.min: fully masked rows stay finite
        float blocked = dtype == DataType.FLOAT16 ? -65504f : -Float.MAX_VALUE;
        float[] mask = new float[b * queries * s];
        for (int i = 0; i < b; i++) {
            for (int t = 0; t < queries; t++) {
                int q = past + t;
                int base = (i * queries + t) * s;
                for (int c = 0; c < s; c++) {
                    int k = firstKey + c;
                    boolean ok = keyValid[i][k] != 0 && k <= q
                            && (segments == null || segments[i][k] == segments[i][q])
                            && (window <= 0 || q - k < window);
                    mask[base + c] = ok ? 0f : blocked;
                }
            }
        }
        NDArray a = m.create(mask, new Shape(b, 1, queries, s));
        return dtype == DataType.FLOAT32 ? a : a.toType(dtype, false);
    }
}
