package org.sft4j.train;

import org.sft4j.batch.Batcher;
import org.sft4j.data.TokenizedSet;
import org.sft4j.model.Decoder;
import org.sft4j.nd.StepScope;

import java.util.List;

/** Mean loss per supervised token of a tokenized split, without gradients (validation and evaluation). */
public final class Validation {

    private Validation() {}

    public static double meanLoss(Decoder model, TokenizedSet set, int batchSize, int chunkRows) {
        return mean(sums(model, set, batchSize, chunkRows, Replicas.single(() -> false)));
    }

    /** Loss per supervised token from {summed loss, supervised tokens}; NaN when nothing was supervised. */
    static double mean(double[] sums) {
        return sums[1] == 0 ? Double.NaN : sums[0] / sums[1];
    }

    /**
     * Summed loss and supervised tokens over the split, summed over the replicas: each scores its share of the
     * batches.
     */
    static double[] sums(Decoder model, TokenizedSet set, int batchSize, int chunkRows, Replicas replicas) {
        LossStep step = new LossStep(model, chunkRows);
        Batcher b = new Batcher(set, batchSize, null, false, 0, false);
        double sum = 0;
        double count = 0;
        for (List<int[]> plan : replicas.shard(b.epochPlan(0))) {
            try (StepScope scope = StepScope.open(model.manager())) {
                double[] r = step.evaluate(b.materialize(plan), scope);
                sum += r[0];
                count += r[1];
            }
        }
        return replicas.sum(sum, count);
    }
}
