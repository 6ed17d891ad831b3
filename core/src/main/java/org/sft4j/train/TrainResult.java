package org.sft4j.train;

import java.nio.file.Path;
import java.util.List;

/**
 * How a run ended.
 *
 * @param status completed, interrupted (saved at a step boundary) or stopped on a non-finite loss
 * @param steps optimizer steps done
 * @param bestValLoss best validation loss, NaN when never validated
 * @param lastValLoss last validation loss, NaN when never validated
 * @param firstValLoss validation loss before the first step, NaN when not measured
 * @param seconds wall time of this invocation
 * @param checkpoints checkpoint directories that exist at the end, oldest first
 * @param message a sentence for the user
 */
public record TrainResult(Status status, int steps, double bestValLoss, double lastValLoss, double firstValLoss,
                          double seconds, List<Path> checkpoints, String message) {

    public enum Status { COMPLETED, INTERRUPTED, NON_FINITE }

    /** The last checkpoint (the trained model), or null. */
    public Path lastCheckpoint() {
        return checkpoints.isEmpty() ? null : checkpoints.get(checkpoints.size() - 1);
    }
}
