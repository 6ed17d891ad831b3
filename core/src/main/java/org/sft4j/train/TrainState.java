package org.sft4j.train;

/**
 * What a checkpoint records besides weights and optimizer moments, so a resumed run continues exactly:
 * the optimizer step, where in the data it was, and the best validation loss so far.
 *
 * @param formatVersion layout version of the checkpoint directory
 * @param step optimizer steps done
 * @param epoch the epoch of the next micro-batch
 * @param batchInEpoch index of the next micro-batch within its epoch
 * @param adamStep AdamW's step counter (bias correction)
 * @param bestValLoss best validation loss so far, NaN when never validated
 * @param seed the run's seed (shuffling and dropout are derived from it and the step)
 * @param finetuningType full or lora
 * @param sft4jVersion the version that wrote it
 * @param lossScale fp16's loss scale for the next step; null when the run is not fp16
 * @param lossScaleCleanSteps fp16: clean steps since the loss scale last changed; null when not fp16
 */
public record TrainState(int formatVersion, int step, int epoch, int batchInEpoch, int adamStep, double bestValLoss,
                         long seed, String finetuningType, String sft4jVersion, Double lossScale, Integer lossScaleCleanSteps) {

    public static final int FORMAT_VERSION = 1;
}
