package org.sft4j.train;

import java.io.IOException;
import java.nio.file.Path;

/**
 * The end of a step over the run's gradients, wherever they are: the model's parameters ({@link ReplicatedUpdate}),
 * or this rank's shards of them ({@link ShardedAdamW}). The loop calls the same three methods either way.
 */
interface ParameterUpdate extends AutoCloseable {

    /**
     * Divides the gradients by {@code lossScale}, takes their global L2 norm (over every rank's shard) and, when
     * {@code maxNorm > 0} and the norm exceeds it, scales them down to it (now, or as {@link #step} reads them);
     * returns the norm before clipping.
     */
    double clipGradients(double maxNorm, double lossScale);

    /** One AdamW update with learning rate {@code lr}. */
    void step(double lr);

    /** Zeroes the gradients for the next step. */
    void zeroGradients();

    /** AdamW's step counter (bias correction). */
    int stepCount();

    /** Restores AdamW's moments and step counter from a checkpoint. */
    void restore(Path checkpoint, int adamStep) throws IOException;

    @Override
    void close();
}
