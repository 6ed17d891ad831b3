package org.sft4j.train;

import java.nio.file.Path;

/** Receives a training run's events in-process (the notebook's live chart, the CLI's log lines). */
public interface TrainListener {

    /** The run continues from {@code checkpoint}, {@code step} steps done; said before any other work. */
    default void onResume(Path checkpoint, int step) {}

    default void onStart(int startStep, int totalSteps) {}

    default void onStep(StepLog log) {}

    default void onValidation(int step, double valLoss) {}

    default void onCheckpoint(int step, Path dir) {}

    default void onEnd(TrainResult result) {}
}
