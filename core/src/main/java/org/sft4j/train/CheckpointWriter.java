package org.sft4j.train;

import java.io.IOException;
import java.nio.file.Path;

/** Writes {@code checkpoint-<step>}: rank 0 alone ({@link Checkpointer}), or every rank its share ({@link ShardedCheckpointer}). */
interface CheckpointWriter {

    /** Called by every rank at the same step; returns the checkpoint on rank 0, null on the others. */
    Path save(TrainState state) throws IOException;
}
