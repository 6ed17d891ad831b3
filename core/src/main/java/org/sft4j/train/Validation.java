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
        return mean(sums(model, set, batchSize, new LossStep(model, chunkRows), Replicas.single(() -> false)));
    }

    /** Loss per supervised token from {summed loss, supervised tokens}; NaN when nothing was supervised. */
    static double mean(double[] sums) {
        return sums[1] == 0 ? Double.NaN : sums[0] / sums[1];
    }

    /**
     * Summed loss and supervised tokens over the split, summed over the replicas: each scores its share of the
     * batches.
     */
    static double[] sums(Decoder model, TokenizedSet set, int batchSize, LossStep step, Replicas replicas) {
        Batcher b = new Batcher(set, batchSize, null, false, 0, false);
        double sum = 0;
        double count = 0;
        List<List<int[]>> plans = b.epochPlan(0);
        List<List<int[]>> mine = new java.util.ArrayList<>(replicas.shard(plans));
        // ranks that must run every pass together run as many; one with fewer batches runs empty passes
        int passes = replicas.lockstep() ? (plans.size() + replicas.world() - 1) / replicas.world() : mine.size();
        for (int k = 0; k < passes; k++) {
            try (StepScope scope = StepScope.open(model.manager())) {
                double[] r = step.evaluate(k < mine.size() ? b.materialize(mine.get(k)) : null, scope);
                sum += r[0];
                count += r[1];
            }
        }
        return replicas.sum(sum, count);
    }
}
