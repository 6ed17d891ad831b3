package org.sft4j.train;

/**
 * fp16's dynamic loss scaling, with {@code torch.amp.GradScaler}'s defaults and rule: the loss is multiplied by
 * the scale before backward so small gradients survive fp16's range; gradients are divided by it before
 * clipping; a step whose gradients overflowed is skipped and the scale halved; after 2000 clean steps in a row
 * the scale doubles.
 */
public final class LossScaler implements LossScaling {

    public static final double INITIAL_SCALE = 65536;
    /** Below this the run stops, as DeepSpeed's min_loss_scale: the gradients overflow whatever the scale. */
    public static final double MIN_SCALE = 1;
    static final double GROWTH_FACTOR = 2;
    static final double BACKOFF_FACTOR = 0.5;
    static final int GROWTH_INTERVAL = 2000;

    private double scale;
    private int cleanSteps;

    public LossScaler() {
        this(INITIAL_SCALE, 0);
    }

    /** A scaler resumed from a checkpoint. */
    public LossScaler(double scale, int cleanSteps) {
        if (!(scale > 0) || Double.isInfinite(scale) || cleanSteps < 0) {
            throw new IllegalArgumentException("loss scale " + scale + " with " + cleanSteps + " clean steps");
        }
        this.scale = scale;
        this.cleanSteps = cleanSteps;
    }

    /** The scaler a checkpoint saved, or a fresh one when there is none (no checkpoint, or one not trained in fp16). */
    public static LossScaler resumedFrom(TrainState state) {
        if (state == null || state.lossScale() == null) {
            return new LossScaler();
        }
        return new LossScaler(state.lossScale(), state.lossScaleCleanSteps() == null ? 0 : state.lossScaleCleanSteps());
    }

    @Override
    public double scale() {
        return scale;
    }

    /** Clean steps since the scale last changed. */
    public int cleanSteps() {
        return cleanSteps;
    }

    @Override
    public Double checkpointedScale() {
        return scale;
    }

    @Override
    public Integer checkpointedCleanSteps() {
        return cleanSteps;
    }

    @Override
    public boolean update(boolean finite) {
        if (!finite) {
            scale *= BACKOFF_FACTOR;
            cleanSteps = 0;
            return false;
        }
        if (++cleanSteps == GROWTH_INTERVAL) {
            double grown = scale * GROWTH_FACTOR;
            if (Double.isFinite(grown)) {
                scale = grown;
            }
            cleanSteps = 0;
        }
        return true;
    }
}
