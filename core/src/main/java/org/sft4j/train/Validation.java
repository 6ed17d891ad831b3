package org.sft4j.train;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import org.sft4j.batch.Batcher;
import org.sft4j.data.TokenizedSet;
import org.sft4j.model.Decoder;

import java.util.List;

/** Mean loss per supervised token of a tokenized split, without gradients (validation and evaluation). */
public final class Validation {

    private Validation() {}

    public static double meanLoss(Decoder model, TokenizedSet set, int batchSize, int chunkRows) {
        return mean(sums(model, set, batchSize, chunkRows, 0, 1));
    }

    /** Loss per supervised token from {summed loss, supervised tokens}; NaN when nothing was supervised. */
    static double mean(double[] sums) {
        return sums[1] == 0 ? Double.NaN : sums[0] / sums[1];
    }

    /** Summed loss and supervised tokens over the batches {@code shard}, {@code shard + shards}, ... of the split. */
    static double[] sums(Decoder model, TokenizedSet set, int batchSize, int chunkRows, int shard, int shards) {
        LossStep step = new LossStep(model, chunkRows);
        Batcher b = new Batcher(set, batchSize, null, false, 0, false);
        double sum = 0;
        double count = 0;
        for (List<int[]> plan : DataParallel.shard(b.epochPlan(0), shard, shards)) {
            try (NDScope scope = new NDScope(); NDManager sm = model.manager().newSubManager()) {
                double[] r = step.evaluate(b.materialize(plan), sm);
                sum += r[0];
                count += r[1];
            }
        }
        return new double[] {sum, count};
    }
}
