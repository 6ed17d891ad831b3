package org.sft4j.model;

import org.sft4j.batch.Batch;

/**
 * One batch as the decoder sees it, on the host.
 *
 * @param inputIds token ids [B][T]
 * @param positionIds RoPE positions [B][T]; they restart at 0 for each sequence packed into a row
 * @param attentionMask 1 for real tokens, 0 for padding [B][T]
 * @param segmentIds which packed sequence each token belongs to [B][T], or null when rows are not packed;
 *     attention never crosses a segment boundary
 */
public record ModelInputs(long[][] inputIds, long[][] positionIds, int[][] attentionMask, int[][] segmentIds) {

    public int batchSize() {
        return inputIds.length;
    }

    public int length() {
        return inputIds.length == 0 ? 0 : inputIds[0].length;
    }

    /** A training batch's rows, padding and packing as the batcher made them. */
    public static ModelInputs of(Batch batch) {
        return new ModelInputs(batch.inputIds(), batch.positionIds(), batch.attentionMask(), batch.segmentIds());
    }

    /** Unpadded, unpacked rows: positions 0..T-1, every token attended. */
    public static ModelInputs of(long[][] ids) {
        int b = ids.length;
        int t = ids[0].length;
        long[][] pos = new long[b][t];
        int[][] mask = new int[b][t];
        for (int i = 0; i < b; i++) {
            for (int j = 0; j < t; j++) {
                pos[i][j] = j;
                mask[i][j] = 1;
            }
        }
        return new ModelInputs(ids, pos, mask, null);
    }

    /** Rows with an attention mask: positions count real tokens only (left or right padding). */
    public static ModelInputs withMask(long[][] ids, int[][] mask) {
        int b = ids.length;
        int t = ids[0].length;
        long[][] pos = new long[b][t];
        for (int i = 0; i < b; i++) {
            long p = 0;
            for (int j = 0; j < t; j++) {
                // as transformers' generate: cumsum(mask) - 1, padding positions set to 1
                pos[i][j] = mask[i][j] == 1 ? p++ : 1;
            }
        }
        return new ModelInputs(ids, pos, mask, null);
    }
}
