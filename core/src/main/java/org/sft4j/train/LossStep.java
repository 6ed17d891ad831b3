package org.sft4j.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import org.sft4j.batch.Batch;
import org.sft4j.model.Decoder;
import org.sft4j.model.ModelInputs;
import org.sft4j.nd.Engines;
import org.sft4j.nd.StepScope;
import org.sft4j.nd.Tensors;

import java.util.function.UnaryOperator;

/**
 * Forward and backward of one micro-batch, one decoder layer at a time, with the loss normalised by the supervised
 * tokens of the whole accumulated batch (so accumulation gives the gradient of one big batch).
 * <pre>
 *   forward    x0 = embed(ids); layer i runs on a detached copy of its input x_i (a leaf of its own)
 *   head       final norm, then LM head and cross-entropy over chunks of supervised rows: each chunk's loss is
 *              back-propagated into the detached rows at once, freeing its chunk x vocab logits
 *   backward   from the last layer: backward(y_i, grad x_{i+1}) gives grad x_i, which feeds layer i - 1
 * </pre>
 * With activation checkpointing ({@code gradient_checkpointing}) a checkpointed layer's forward runs without a graph
 * and only its input is kept; its backward first recomputes the forward from the kept input (LoRA dropout reseeded
 * as in the forward). Any other layer's output keeps its graph until that layer's backward. The first
 * {@code checkpointedLayers} layers are checkpointed (all, or as {@code gradient_checkpointing_layers} says: fewer
 * recompute less where memory allows), save the last one, whose backward comes right after the head. Either way the
 * logits never exist whole and a layer's graph is freed as soon as its backward ran.
 *
 * <p>The layer boundaries are where a sharded model works ({@link LayerHooks}): ZeRO-3 gathers a layer before its
 * forward and its backward and frees it after, ZeRO-2/3 reduce a layer's gradients as soon as its backward is done.
 */
public final class LossStep {

    private static final Runnable NOTHING = () -> { };

    private final Decoder model;
    private final int chunkRows;
    private final int checkpointedLayers;
    private final LayerHooks hooks;

    public LossStep(Decoder model, int chunkRows) {
        this(model, chunkRows, false);
    }

    /** @param checkpointing recompute each layer's forward in backward instead of keeping its activations */
    public LossStep(Decoder model, int chunkRows, boolean checkpointing) {
        this(model, chunkRows, checkpointing ? model.numLayers() : 0, LayerHooks.NONE);
    }

    /** @param checkpointedLayers how many layers, from the first, recompute their forward in backward */
    public LossStep(Decoder model, int chunkRows, int checkpointedLayers) {
        this(model, chunkRows, checkpointedLayers, LayerHooks.NONE);
    }

    LossStep(Decoder model, int chunkRows, int checkpointedLayers, LayerHooks hooks) {
        if (checkpointedLayers < 0 || checkpointedLayers > model.numLayers()) {
            throw new IllegalArgumentException(checkpointedLayers + " checkpointed layers of " + model.numLayers());
        }
        this.model = model;
        this.chunkRows = chunkRows;
        this.checkpointedLayers = checkpointedLayers;
        this.hooks = hooks;
    }

    /**
     * Whether layer {@code i} recomputes its forward in backward. Never the last layer: its backward follows the head
     * at once, so a recompute would rebuild at that moment the activations it dropped, costing a layer's forward for
     * about the same peak memory.
     */
    private boolean checkpointed(int i) {
        return i < checkpointedLayers && i < model.numLayers() - 1;
    }

    /**
     * Runs forward and backward; gradients accumulate in the parameters.
     *
     * @param scale 1 / supervised tokens of the accumulated batch (times the loss scale under fp16)
     * @param beforeFinalBackward runs just before the backward through the decoder (a gradient all-reduce arms its
     *     hooks there)
     * @return the summed (unscaled) loss of this micro-batch (waits for the device); 0 when it supervises nothing
     */
    public double forwardBackward(Batch batch, double scale, StepScope step, Runnable beforeFinalBackward) {
        NDArray total = forwardBackwardLazy(batch, scale, step, beforeFinalBackward);
        return total == null ? 0 : Tensors.scalar(total);
    }

    public double forwardBackward(Batch batch, double scale, StepScope step) {
        return forwardBackward(batch, scale, step, NOTHING);
    }

    /** As {@link #forwardBackwardLazy(Batch, double, StepScope, Runnable)}, with nothing run before the final backward. */
    public NDArray forwardBackwardLazy(Batch batch, double scale, StepScope step) {
        return forwardBackwardLazy(batch, scale, step, NOTHING);
    }

    /**
     * As {@link #forwardBackward}, without waiting for the device: the summed loss comes back as an fp32 scalar
     * of {@code step} (null when the batch supervises nothing), so the host can queue the next work at once.
     */
    public NDArray forwardBackwardLazy(Batch batch, double scale, StepScope step, Runnable beforeFinalBackward) {
        return forwardBackwardLazy(batch, scale, step, beforeFinalBackward, 0);
    }

    /**
     * As above; {@code dropoutSeed} seeds LoRA dropout of each layer (the same masks when a checkpointed layer is
     * recomputed). A null batch, or one that supervises nothing, computes nothing, but the hooks still see a whole
     * pass (a sharded run's ranks take part in every collective).
     */
    NDArray forwardBackwardLazy(Batch batch, double scale, StepScope step, Runnable beforeFinalBackward,
                                long dropoutSeed) {
        NDManager scope = step.manager();
        CausalLmLoss.Targets targets = batch == null ? null : CausalLmLoss.Targets.of(batch.labels());
        if (targets == null || targets.count() == 0) {
            idlePass(beforeFinalBackward);
            return null;
        }
        int layers = model.numLayers();
        boolean was = Tensors.gradMode(true);
        try {
            LossInputs loss = LossInputs.of(targets, scale, scope);
            ModelInputs in = ModelInputs.of(batch);
            hooks.beforeForward(0);
            Decoder.LayerInputs shared = model.layerInputs(in, scope, true);
            NDArray embedded = model.embed(in, scope);               // its graph reaches the embedding when trained
            NDArray[] inputs = new NDArray[layers + 1];              // inputs[i]: layer i's input, a leaf of its own
            NDArray[] outputs = new NDArray[layers];                 // layers not checkpointed: outputs with their graphs
            // a frozen embedding (LoRA) needs no gradient of layer 0's input
            boolean embeddingTrained = model.outerParameters().get(0).trainable();
            inputs[0] = embeddingTrained ? leaf(embedded) : embedded.stopGradient();
            for (int i = 0; i < layers; i++) {
                hooks.beforeForward(i + 1);
                NDArray y = layerForward(i, inputs[i], shared, scope, checkpointed(i) ? Pass.NO_GRAPH : Pass.GRAPH,
                        dropoutSeed);
                hooks.afterForward(i + 1);
                if (checkpointed(i)) {
                    y.setRequiresGradient(true);                     // no graph behind it: already a leaf
                    inputs[i + 1] = y;
                } else {
                    outputs[i] = y;
                    inputs[i + 1] = leaf(y);
                }
            }
            NDArray total = headForwardBackward(inputs[layers], loss, scope);
            beforeFinalBackward.run();
            for (int i = layers - 1; i >= 0; i--) {
                NDArray gradOut = Tensors.gradOrNull(inputs[i + 1]);
                hooks.beforeBackward(i + 1);
                try (StepScope layer = StepScope.open(scope)) {
                    NDArray y = checkpointed(i)
                            ? layerForward(i, inputs[i], shared, layer.manager(), Pass.RECOMPUTE, dropoutSeed)
                            : outputs[i];
                    Tensors.backward(y, gradOut, false);
                }
                hooks.afterBackward(i + 1);
                // this layer's activations are done with: free them now, not when the step ends
                gradOut.close();
                inputs[i + 1].close();
                if (outputs[i] != null) {
                    outputs[i].close();
                }
            }
            hooks.beforeBackward(0);
            if (embeddingTrained) {
                try (NDArray gradIn = Tensors.gradOrNull(inputs[0])) {
                    Tensors.backward(embedded, gradIn, false);
                }
            }
            hooks.afterBackward(0);
            inputs[0].close();
            return total;
        } finally {
            Tensors.gradMode(was);
        }
    }

    /** How a layer's forward runs: with its graph, without (checkpointed), or again in backward for its graph. */
    private enum Pass { GRAPH, NO_GRAPH, RECOMPUTE }

    /**
     * Layer {@code i} on {@code x}; the output is kept in {@code scope}, every other array the layer made is freed
     * when it returns (what backward needs, autograd holds). A recompute's output is for backward only: values
     * nothing reads are not computed ({@link Decoder#recomputeLayer}).
     */
    private NDArray layerForward(int i, NDArray x, Decoder.LayerInputs shared, NDManager scope, Pass pass,
                                 long dropoutSeed) {
        boolean was = Tensors.gradMode(pass != Pass.NO_GRAPH);
        try (StepScope layer = StepScope.open(scope)) {
            if (shared.training() && model.loraConfig() != null && model.loraConfig().dropout() > 0) {
                Engines.seedTorch(dropoutSeed * 1_000_003L + i);   // the recomputed forward draws the same masks
            }
            return layer.keep(pass == Pass.RECOMPUTE ? model.recomputeLayer(i, x, shared) : model.layer(i, x, shared));
        } finally {
            Tensors.gradMode(was);
        }
    }

    /**
     * What the loss reads from the host, on the device before the forward is queued: a copy from host memory waits
     * for all queued work, so made after the forward (or per chunk) it would leave a GPU idle while the host queues
     * what follows. Each array stays open until the step ends (backward reads the indices, labels and scale again).
     *
     * @param rows the supervised rows' flat indices; labels: their targets; scale: the loss's factor
     */
    private record LossInputs(NDArray rows, NDArray labels, NDArray scale) {
        static LossInputs of(CausalLmLoss.Targets targets, double scale, NDManager scope) {
            return new LossInputs(scope.create(targets.rows()), scope.create(targets.labels()),
                    scope.create((float) scale));
        }
    }

    /** Final norm, LM head and loss over chunks; leaves the gradient of the last layer's output in {@code last}. */
    private NDArray headForwardBackward(NDArray last, LossInputs in, NDManager scope) {
        NDArray rows;
        try (StepScope forward = StepScope.open(scope)) {
            rows = forward.keep(CausalLmLoss.selectRows(model.norm(last), in.rows()));
        }
        NDArray detached = leaf(rows);
        NDArray total = null;
        long n = detached.getShape().get(0);   // the supervised rows
        UnaryOperator<NDArray> head = model.head();
        for (long start = 0; start < n; start += chunkRows) {
            NDIndex range = new NDIndex(start + ":" + Math.min(n, start + chunkRows));
            // the chunk's logits are freed as soon as its backward is done, not at the end of the step
            try (StepScope chunk = StepScope.open(scope)) {
                NDArray part = CausalLmLoss.chunkSum(detached.get(range), in.labels().get(range), head, model.compute());
                NDArray scaled = part.mul(in.scale());
                Tensors.backward(scaled, chunk.manager().ones(scaled.getShape()), false);
                NDArray value = part.stopGradient();
                total = chunk.keep(total == null ? value : total.add(value));
            }
        }
        NDArray rowGrad = Tensors.gradOrNull(detached);
        Tensors.backward(rows, rowGrad, false);   // through the final norm into the last layer's output
        rowGrad.close();
        detached.close();
        rows.close();
        return total;
    }

    /** A pass over nothing: the hooks' calls of a whole pass, so the ranks of a sharded run stay in step. */
    private void idlePass(Runnable beforeFinalBackward) {
        int layers = model.numLayers();
        hooks.beforeForward(0);
        for (int i = 1; i <= layers; i++) {
            hooks.beforeForward(i);
            hooks.afterForward(i);
        }
        beforeFinalBackward.run();
        for (int i = layers; i >= 1; i--) {
            hooks.beforeBackward(i);
            hooks.afterBackward(i);
        }
        hooks.beforeBackward(0);
        hooks.afterBackward(0);
    }

    /** {@code x}'s values as a new leaf that collects the gradient flowing into them. */
    private static NDArray leaf(NDArray x) {
        NDArray d = x.stopGradient();
        d.setRequiresGradient(true);
        return d;
    }

    /** Summed loss and supervised count of a batch without gradients (validation); null computes nothing. */
    double[] evaluate(Batch batch, StepScope step) {
        NDManager scope = step.manager();
        CausalLmLoss.Targets targets = batch == null ? null : CausalLmLoss.Targets.of(batch.labels());
        int layers = model.numLayers();
        boolean was = Tensors.gradMode(false);
        try {
            hooks.beforeForward(0);
            NDArray x = null;
            Decoder.LayerInputs shared = null;
            LossInputs loss = null;
            boolean compute = targets != null && targets.count() > 0;
            if (compute) {
                loss = LossInputs.of(targets, 1, scope);   // before the forward is queued, as in training
                ModelInputs in = ModelInputs.of(batch);
                shared = model.layerInputs(in, scope, false);
                x = model.embed(in, scope);
            }
            for (int i = 0; i < layers; i++) {
                hooks.beforeForward(i + 1);
                if (compute) {
                    NDArray previous = x;
                    try (StepScope layer = StepScope.open(scope)) {
                        x = layer.keep(model.layer(i, x, shared));
                    }
                    previous.close();
                }
                hooks.afterForward(i + 1);
            }
            double[] result = {0, 0};
            if (compute) {
                NDArray rows = CausalLmLoss.selectRows(model.norm(x), loss.rows());
                double sum = Tensors.scalar(CausalLmLoss.sum(rows, loss.labels(), model.head(), chunkRows, scope,
                        model.compute()));
                result = new double[] {sum, targets.count()};
            }
            hooks.afterForward(0);
            return result;
        } finally {
            Tensors.gradMode(was);
        }
    }
}
