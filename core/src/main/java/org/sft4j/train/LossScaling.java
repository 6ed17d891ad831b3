package org.sft4j.train;

/**
 * How the loss is scaled before backward: not at all (fp32 and bf16), or fp16's dynamic loss scaling
 * ({@link LossScaler}). The loop uses either the same way; without scaling every call is a no-op.
 */
public interface LossScaling {

    /** No scaling: factor 1, every step may be applied, nothing to checkpoint. */
    LossScaling NONE = new LossScaling() {
        @Override
        public double scale() {
            return 1;
        }

        @Override
        public boolean update(boolean finite) {
            return true;
        }

        @Override
        public Double checkpointedScale() {
            return null;
        }

        @Override
        public Integer checkpointedCleanSteps() {
            return null;
        }
    };

    /** The factor the loss is multiplied by this step (gradients are divided by it before clipping). */
    double scale();

    /**
     * Records a step's outcome and moves the scale for the next one.
     *
     * @param finite whether every unscaled gradient was finite
     * @return whether the step's gradients may be applied (false: they overflowed the scaled range; skip the step)
     */
    boolean update(boolean finite);

    /** The scale a checkpoint records for the next step; null when there is no scaling to resume. */
    Double checkpointedScale();

    /** Clean steps since the scale last changed, for the checkpoint; null when there is no scaling to resume. */
    Integer checkpointedCleanSteps();
}
