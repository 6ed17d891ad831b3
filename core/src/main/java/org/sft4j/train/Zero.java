package org.sft4j.train;

import ai.djl.ndarray.NDManager;
import org.sft4j.model.Decoder;
import org.sft4j.model.Parameter;
import org.sft4j.nd.ProcessGroup;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.function.BooleanSupplier;

/**
 * ZeRO data parallelism (DeepSpeed's stages, FSDP2's schedule): every rank trains on its rows of each global batch
 * and keeps only its shard of the AdamW moments and master weights (stage 1), of the gradients (stage 2) and of the
 * parameters themselves (stage 3). The model is cut into parts ({@link ShardedModel}); this class is what happens
 * around each part while a pass runs through it ({@link LayerHooks}):
 * <pre>
 *                 forward of a part                      backward of a part                    after the update
 *   stage 1       -                                      last micro-batch: reduce-scatter      all-gather every part
 *   stage 2       -                                      reduce-scatter, gradients freed       all-gather every part
 *   stage 3       gather (the next part prefetched),     gather (the previous part prefetched), -
 *                 then free                              reduce-scatter, then free
 * </pre>
 * A reduce-scatter is joined at the next part's reduction, so it overlaps that part's backward; an all-gather is
 * joined where its part computes. The sums go into the master shards' gradients, which the sharded AdamW
 * ({@link ShardedAdamW}) clips by the global norm and steps.
 */
final class Zero extends ProcessReplicas implements LayerHooks {

    private final int stage;
    private final ShardedModel model;
    private final Deque<ShardedModel.Reduction> reducing = new ArrayDeque<>();
    private boolean finalMicroBatch;

    private Zero(int stage, ProcessGroup group, ShardedModel model, NDManager manager, BooleanSupplier stopRequested) {
        super(group, manager, stopRequested);
        this.stage = stage;
        this.model = model;
    }

    /**
     * Shards {@code decoder} over {@code group} at {@code stage} (1, 2 or 3), starting from rank 0's weights.
     *
     * @param decayAll weight decay on every parameter, not only matrices
     * @param offloadRatio the share of the optimizer's shards (fp32 masters, their gradients, AdamW's moments) kept in
     *     host memory, 0 to 1 (see {@link ShardedModel#firstOffloadedPart})
     */
    static Zero shard(int stage, ProcessGroup group, Decoder decoder, boolean decayAll, double offloadRatio,
                      BooleanSupplier stopRequested) {
        if (stage < 1 || stage > 3) {
            throw new IllegalArgumentException("ZeRO stage " + stage);
        }
        takeRankZerosWeights(group, decoder);
        ShardedModel sharded = new ShardedModel(decoder, group, stage == 3, decayAll, offloadRatio);
        try {
            decoder.weightsRead();   // a model loaded to shard: each rank read its slices
        } catch (java.io.IOException e) {
            sharded.close();
            throw new java.io.UncheckedIOException(e);
        }
        Zero zero = new Zero(stage, group, sharded, decoder.manager().newSubManager(), stopRequested);
        zero.afterUpdate();
        return zero;
    }

    int stage() {
        return stage;
    }

    ShardedModel sharded() {
        return model;
    }

    // ---- Replicas ---------------------------------------------------------------------------------------------

    @Override
    public LayerHooks hooks() {
        return this;
    }

    @Override
    public boolean lockstep() {
        return true;
    }

    @Override
    public void beforeFinalBackward() {
        finalMicroBatch = true;
    }

    @Override
    public void finishGradients() {
        while (!reducing.isEmpty()) {
            ShardedModel.accumulate(reducing.poll());
        }
        model.awaitHostGradients();
        finalMicroBatch = false;
    }

    // ---- LayerHooks -------------------------------------------------------------------------------------------

    @Override
    public void beforeForward(int part) {
        model.ensure(part);
        if ((stage == 3 || model.offloaded()) && part + 1 < model.parts()) {
            model.prefetch(part + 1);   // gathered while this part computes
        }
    }

    @Override
    public void afterForward(int part) {
        if (stage != 3) {
            return;
        }
        if (part == 0) {            // the end of a pass without backward (validation)
            model.release(model.parts() - 1);
            model.release(0);
        } else if (part < model.parts() - 1) {
            model.release(part);    // the last layer stays: its backward comes next
        }
    }

    @Override
    public void beforeBackward(int part) {
        model.ensure(part);
        if (stage == 3 && part > 1) {
            model.prefetch(part - 1);
        }
    }

    @Override
    public void afterBackward(int part) {
        if (stage >= 2 || finalMicroBatch) {
            ShardedModel.Reduction r = model.reduce(part);
            // the previous part's sums are needed no sooner than now: its reduction overlapped this part's backward
            while (!reducing.isEmpty()) {
                ShardedModel.accumulate(reducing.poll());
            }
            if (r != null) {
                reducing.add(r);
            }
        }
        if (stage == 3) {
            model.release(part);
        }
    }

    /**
     * The master shards were updated: the working weights are gathered again, stages 1 and 2 all at once, now;
     * stage 3, and any stage whose optimizer is offloaded (its update still running on the host, part by part),
     * starts with the part the next pass needs first and gathers each next part as the forward reaches the one before.
     */
    void afterUpdate() {
        model.invalidate();
        for (int i = 0; i < (stage < 3 && !model.offloaded() ? model.parts() : 1); i++) {
            model.prefetch(i);
        }
    }

    /** Whether {@code p} is a parameter of the sharded model. */
    boolean holds(Parameter p) {
        return model.groups().stream().anyMatch(g -> g.params().contains(p));
    }

    @Override
    public void close() {
        try {
            finishGradients();
        } finally {
            try {
                model.close();   // after an offloaded update still running, if any (it fails finishGradients again)
                manager.close();
            } finally {
                group.close();
            }
        }
    }
}
