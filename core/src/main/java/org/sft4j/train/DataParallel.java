package org.sft4j.train;

import ai.djl.ndarray.NDManager;
import org.sft4j.model.Decoder;
import org.sft4j.model.Parameter;
import org.sft4j.nd.Distributed;
import org.sft4j.nd.GradientBuckets;

import java.util.List;
import java.util.function.BooleanSupplier;

/**
 * Data parallel across worker processes, one per GPU (or several sharing the CPU): every rank holds a replica
 * (rank 0's weights broadcast at the start), takes every {@code world}-th row of each global batch, and the
 * gradients, scaled by the global batch's supervised tokens, are summed across ranks in buckets while backward
 * runs. The update is then the one a single process would make on the whole batch.
 */
final class DataParallel extends ProcessReplicas {

    private final GradientBuckets buckets;
    private boolean armed;

    private DataParallel(Distributed group, GradientBuckets buckets, NDManager manager,
                         BooleanSupplier stopRequested) {
        super(group, manager, stopRequested);
        this.buckets = buckets;
    }

    /** Replicas over {@code group} (which they close when closed); every replica is made equal to rank 0's. */
    static DataParallel over(Distributed group, Decoder model, List<Parameter> trainable, BooleanSupplier stopRequested) {
        takeRankZerosWeights(group, model);
        GradientBuckets buckets = group.overlap(trainable.stream().map(Parameter::array).toList(),
                GradientBuckets.DEFAULT_BUCKET_BYTES);
        return new DataParallel(group, buckets, model.manager(), stopRequested);
    }

    @Override
    public void beforeFinalBackward() {
        buckets.arm();
        armed = true;
    }

    /** Ends the step's gradient sum (every rank, every step), including buckets backward did not reach. */
    @Override
    public void finishGradients() {
        if (!armed) {
            buckets.arm();   // this rank had nothing to back-propagate in the last micro-batch
        }
        buckets.finish();
        armed = false;
    }

    @Override
    public void close() {
        buckets.close();
        group.close();
    }
}
