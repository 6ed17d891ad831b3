package org.sft4j.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;

/**
 * Keys and values of every layer for the tokens seen so far, so that generation feeds one new token
 * per step instead of the whole sequence.
 *
 * <p>A layer with a sliding window of W tokens keeps only the last W - 1 positions, all that the next token can
 * attend to (transformers' sliding-window cache layers do the same), so its memory stays bounded however long the
 * generation.
 *
 * <p>The cache owns its arrays in its own manager; each step replaces them with the longer ones.
 */
public final class KvCache implements AutoCloseable {

    private final NDManager manager;
    private final NDArray[] keys;
    private final NDArray[] values;
    private final int[] windows;
    private int[][] keyValid = new int[0][];
    private int length;

    /** A cache for layers without a window. */
    public KvCache(NDManager parent, int layers) {
        this(parent, new int[layers]);
    }

    /** @param windows each layer's attention window in tokens, 0 for full attention */
    public KvCache(NDManager parent, int[] windows) {
        this.manager = parent.newSubManager();
        this.keys = new NDArray[windows.length];
        this.values = new NDArray[windows.length];
        this.windows = windows.clone();
    }

    /** Number of positions already cached. */
    public int length() {
        return length;
    }

    /** The position of the first key a layer with {@code window} still holds (0 without a window). */
    int firstKey(int window) {
        return window <= 0 ? 0 : Math.max(0, length - (window - 1));
    }


    int[][] keyValid() {
        return keyValid;
    }

    /** Records the new tokens' validity; called once per forward, before the layers run. */
    void extendValidity(int[][] mask) {
        if (length == 0) {
            keyValid = mask;
            return;
        }
        int[][] next = new int[mask.length][];
        for (int b = 0; b < mask.length; b++) {
            next[b] = new int[keyValid[b].length + mask[b].length];
            System.arraycopy(keyValid[b], 0, next[b], 0, keyValid[b].length);
            System.arraycopy(mask[b], 0, next[b], keyValid[b].length, mask[b].length);
        }
        keyValid = next;
    }

    /**
     * Appends one layer's new keys/values [B, kvH, T, D] and returns the ones this step attends to: every position
     * held, from {@link #firstKey} of the layer's window on.
     */
    NDArray[] append(int layer, NDArray k, NDArray v) {
        NDArray fullK = keys[layer] == null ? k : keys[layer].concat(k, 2);
        NDArray fullV = values[layer] == null ? v : values[layer].concat(v, 2);
        int keep = windows[layer] - 1;
        long have = fullK.getShape().get(2);
        if (windows[layer] > 0 && have > keep) {
            // a copy of the last W - 1 positions, so the longer arrays are freed with this step
            String last = ":, :, " + (have - keep) + ":, :";
            replace(layer, fullK.get(last).duplicate(), fullV.get(last).duplicate());
        } else {
            replace(layer, fullK, fullV);
        }
        return new NDArray[] {fullK, fullV};
    }

    private void replace(int layer, NDArray k, NDArray v) {
        NDArray oldK = keys[layer];
        NDArray oldV = values[layer];
        keys[layer] = org.sft4j.nd.Tensors.keep(k, manager);
        values[layer] = org.sft4j.nd.Tensors.keep(v, manager);
        if (oldK != null && oldK != k) {
            oldK.close();
        }
        if (oldV != null && oldV != v) {
            oldV.close();
        }
    }

    /** Called after the last layer of a forward pass. */
    void advance(int tokens) {
        length += tokens;
    }

    @Override
    public void close() {
        manager.close();
    }
}
