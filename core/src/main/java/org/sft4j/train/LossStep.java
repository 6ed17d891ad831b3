package org.sft4j.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.index.NDIndex;
import org.sft4j.batch.Batch;
import org.sft4j.model.Decoder;
import org.sft4j.model.ModelInputs;
import org.sft4j.nd.StepScope;
import org.sft4j.nd.Tensors;

import java.util.function.UnaryOperator;

/**
 * Forward and backward of one micro-batch, with the loss normalised by the supervised tokens of the
 * whole accumulated batch (so accumulation gives the gradient of one big batch).
 *
 * <p>The LM head and log-softmax run over chunks of supervised rows; each chunk's loss is
 * back-propagated into a detached copy of the hidden rows right away, freeing its {@code chunk x vocab}
 * logits, and one final backward carries the collected gradient through the decoder. Peak memory of
 * the head is one chunk, whatever the vocabulary. The model's {@link org.sft4j.nd.Compute} computes the
 * cross-entropy too.
 */
public final class LossStep {

    private static final Runnable NOTHING = () -> { };

    private final Decoder model;
    private final int chunkRows;

    public LossStep(Decoder model, int chunkRows) {
        this.model = model;
        this.chunkRows = chunkRows;
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
        CausalLmLoss.Targets targets = CausalLmLoss.Targets.of(batch.labels());
        if (targets.count() == 0) {
            return null;
        }
        boolean was = Tensors.gradMode(true);
        try {
            NDArray rows;
            // the forward's arrays are released here: autograd holds what backward needs, so each activation is
            // freed as soon as backward has passed it (as in PyTorch), not when the step ends
            try (StepScope forward = step.part()) {
                NDArray hidden = model.forward(ModelInputs.of(batch), forward.manager(), null, true);
                rows = forward.keep(CausalLmLoss.selectRows(hidden, targets, forward.manager()));
            }
            NDArray detached = rows.stopGradient();
            detached.setRequiresGradient(true);
            NDArray scaleArr = step.manager().create((float) scale);  // open until backward: no scalar use-after-free
            NDArray total = null;
            long n = targets.count();
            UnaryOperator<NDArray> head = model.head();
            for (long start = 0; start < n; start += chunkRows) {
                long end = Math.min(n, start + chunkRows);
                // the chunk's logits are freed as soon as its backward is done, not at the end of the step
                try (StepScope chunk = step.part()) {
                    NDArray part = CausalLmLoss.chunkSum(detached.get(new NDIndex(start + ":" + end)), targets.labels(),
                            (int) start, (int) end, head, chunk.manager(), model.compute());
                    NDArray scaled = part.mul(scaleArr);
                    Tensors.backward(scaled, chunk.manager().ones(scaled.getShape()), false);
                    NDArray value = part.stopGradient();
                    total = chunk.keep(total == null ? value : total.add(value));
                }
            }
            NDArray rowGrad = Tensors.gradOrNull(detached);
            beforeFinalBackward.run();
            Tensors.backward(rows, rowGrad, false);
            return total;
        } finally {
            Tensors.gradMode(was);
        }
    }

    /** Summed loss and supervised count of a batch without gradients (validation). */
    double[] evaluate(Batch batch, StepScope step) {
        return evaluate(batch, step.manager());
    }

    private double[] evaluate(Batch batch, ai.djl.ndarray.NDManager scope) {
        CausalLmLoss.Targets targets = CausalLmLoss.Targets.of(batch.labels());
        if (targets.count() == 0) {
            return new double[] {0, 0};
        }
        boolean was = Tensors.gradMode(false);
        try {
            NDArray hidden = model.forward(ModelInputs.of(batch), scope, null, false);
            NDArray rows = CausalLmLoss.selectRows(hidden, targets, scope);
            double sum = Tensors.scalar(CausalLmLoss.sum(rows, targets.labels(), model.head(), chunkRows, scope,
                    model.compute()));
            return new double[] {sum, targets.count()};
        } finally {
            Tensors.gradMode(was);
        }
    }
}
