package org.sft4j.train;

import java.nio.file.Path;

/** Receives a training run's events in-process (the notebook's live chart, the CLI's log lines). */
public interface TrainListener {

    default void onStart(int startStep, int totalSteps) {}

    default void onStep(StepLog log) {}

    default void onValidation(int step, double valLoss) {}

    default void onCheckpoint(int step, Path dir) {}

    default void onEnd(TrainResult result) {}
}
