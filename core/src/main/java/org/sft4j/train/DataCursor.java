package org.sft4j.train;

import org.sft4j.batch.Batch;
import org.sft4j.batch.Batcher;

import java.util.ArrayList;
import java.util.List;

/**
 * Walks the micro-batches across epochs and remembers where it is (epoch, index), which is what a
 * checkpoint stores as the data position.
 */
final class DataCursor {

    /**
     * The micro-batches of one optimizer step that this replica computes (null where it has no rows of one), and the
     * counts of the whole (global) accumulated batch, which normalise the loss on every replica.
     */
    record StepBatch(List<Batch> micro, long supervised, long tokens) {}

    private final Batcher batcher;
    private int epoch;
    private int index;
    private List<List<int[]>> plan;

    DataCursor(Batcher batcher, int epoch, int index) {
        this.batcher = batcher;
        this.epoch = epoch;
        this.index = index;
        this.plan = batcher.epochPlan(epoch);
    }

    int batchesPerEpoch() {
        return plan.size();
    }

    /** The next {@code microBatches} micro-batches, this replica's rows of each padded into arrays. */
    StepBatch next(int microBatches, Replicas replicas) {
        List<Batch> mine = new ArrayList<>();
        long supervised = 0;
        long tokens = 0;
        for (int k = 0; k < microBatches; k++) {
            List<int[]> rows = nextRows();
            supervised += batcher.supervised(rows);
            tokens += batcher.tokens(rows);
            List<int[]> shard = replicas.shard(rows);   // only this replica's rows are padded
            mine.add(shard.isEmpty() ? null : batcher.materialize(shard));
        }
        return new StepBatch(mine, supervised, tokens);
    }

    /** The rows of the next micro-batch, not yet padded into arrays. */
    private List<int[]> nextRows() {
        if (index >= plan.size()) {
            epoch++;
            index = 0;
            plan = batcher.epochPlan(epoch);
        }
        return plan.get(index++);
    }

    int epoch() {
        return epoch;
    }

    int index() {
        return index;
    }

    /** Fractional epochs completed. */
    double progress() {
        return epoch + (double) index / plan.size();
    }
}
