package org.sft4j.train;

import java.util.List;
import java.util.function.BooleanSupplier;

/**
 * The copies of the model that train together: this process alone ({@link #single}), or one replica per worker
 * process ({@link DataParallel}). The loop makes the same calls either way; alone they are no-ops.
 *
 * <p>{@link Zero} is the third: sharded weights, gradients and optimizer state; its {@link #hooks()} gather and
 * reduce each part of the model as a pass runs through it, and setup builds its sharded optimizer. The two
 * multi-process ones share {@link ProcessReplicas}.
 */
interface Replicas extends AutoCloseable {

    /** This process alone. */
    static Replicas single(BooleanSupplier stopRequested) {
        return new Single(stopRequested);
    }

    /** Rank 0 logs, validates into the listeners and saves checkpoints. */
    boolean main();

    int rank();

    int world();

    /** This replica's rows of a global batch (all of them alone). */
    <T> List<T> shard(List<T> rows);

    /** What happens around each part of the model during a pass (nothing unless the model is sharded). */
    default LayerHooks hooks() {
        return LayerHooks.NONE;
    }

    /**
     * Whether every rank must run every pass, also over a micro-batch or validation batch it has no rows of (the
     * passes of a sharded model are collectives).
     */
    default boolean lockstep() {
        return false;
    }

    /** Called just before the backward that completes this step's gradients. */
    void beforeFinalBackward();

    /** Ends the step's gradient exchange; every replica calls it once per step. */
    void finishGradients();

    /**
     * The step's summed loss over the replicas; every replica also learns whether any was asked to stop, read
     * afterwards through {@link #stopAgreed()} (so they all stop at the same step).
     */
    double sumLoss(double local);

    /** Whether to stop before the next step: alone, whether a stop was asked; together, as agreed at the last sum. */
    boolean stopAgreed();

    /**
     * This replica's training failed with {@code e}: the others are told, so they stop instead of waiting for it; or,
     * when a collective failed because another rank did, this one waits to learn which.
     */
    default void failed(RuntimeException e) {
    }

    /** Sums small host values over the replicas (validation's loss sums and counts). */
    double[] sum(double... values);

    @Override
    void close();

    /** One process: every call is the identity or nothing. */
    record Single(BooleanSupplier stopRequested) implements Replicas {
        @Override
        public boolean main() {
            return true;
        }

        @Override
        public int rank() {
            return 0;
        }

        @Override
        public int world() {
            return 1;
        }

        @Override
        public <T> List<T> shard(List<T> rows) {
            return rows;
        }

        @Override
        public void beforeFinalBackward() {
        }

        @Override
        public void finishGradients() {
        }

        @Override
        public double sumLoss(double local) {
            return local;
        }

        @Override
        public boolean stopAgreed() {
            return stopRequested.getAsBoolean();
        }

        @Override
        public double[] sum(double... values) {
            return values;
        }

        @Override
        public void close() {
        }
    }
}
