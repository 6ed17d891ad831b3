package org.sft4j.batch;

/**
 * A padded (or packed) micro-batch on the host.
 *
 * @param inputIds [B][T], right-padded
 * @param labels [B][T], -100 on padding, prompts and the first token of each packed sequence
 * @param attentionMask 1 for real tokens
 * @param positionIds RoPE positions; restart at 0 for each packed sequence
 * @param segmentIds packed-sequence index per token, or null when rows are not packed
 * @param tokens real (non-pad) tokens
 * @param supervised tokens that are a training target (next-token labels not -100)
 */
public record Batch(long[][] inputIds, long[][] labels, int[][] attentionMask, long[][] positionIds, int[][] segmentIds,
                    int tokens, int supervised) {

    public int rows() {
        return inputIds.length;
    }

    public int length() {
        return inputIds.length == 0 ? 0 : inputIds[0].length;
    }
}
