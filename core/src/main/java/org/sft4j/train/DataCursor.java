package org.sft4j.train;

import org.sft4j.batch.Batch;
import org.sft4j.batch.Batcher;

import java.util.List;

/**
 * Walks the micro-batches across epochs and remembers where it is (epoch, index), which is what a
 * checkpoint stores as the data position.
 */
final class DataCursor {

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

    Batch next() {
        return materialize(nextRows());
    }

    /** The rows of the next micro-batch, not yet padded into arrays (data parallel takes a share of them). */
    List<int[]> nextRows() {
        if (index >= plan.size()) {
            epoch++;
            index = 0;
            plan = batcher.epochPlan(epoch);
        }
        return plan.get(index++);
    }

    Batch materialize(List<int[]> rows) {
        return batcher.materialize(rows);
    }

    /** Real tokens of the rows, as {@link Batch#tokens()} of their batch counts them. */
    int tokens(List<int[]> rows) {
        return batcher.tokens(rows);
    }

    /** Supervised tokens of the rows, as {@link Batch#supervised()} of their batch counts them. */
    int supervised(List<int[]> rows) {
        return batcher.supervised(rows);
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
