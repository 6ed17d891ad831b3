package org.sft4j.tokenize;

/**
 * A tokenized, masked example.
 *
 * @param id the example's id
 * @param inputIds token ids
 * @param labels the same ids where loss is taken, {@link #IGNORE} elsewhere (Hugging Face convention: the
 *     shift to next-token targets happens in the loss)
 * @param truncated whether {@code overlong: truncate} cut it
 */
public record EncodedExample(String id, int[] inputIds, int[] labels, boolean truncated) {

    public static final int IGNORE = -100;

    public int length() {
        return inputIds.length;
    }

    /** Tokens that are a training target: labels set at positions 1.. (position 0 is never predicted). */
    public int supervised() {
        int n = 0;
        for (int t = 1; t < labels.length; t++) {
            if (labels[t] != IGNORE) {
                n++;
            }
        }
        return n;
    }
}
