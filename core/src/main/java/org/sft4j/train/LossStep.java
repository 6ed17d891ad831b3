package org.sft4j.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import org.sft4j.data.Batch;
import org.sft4j.model.Decoder;
import org.sft4j.nd.Tensors;

import java.util.function.UnaryOperator;

/**
 * Forward and backward of one micro-batch, with the loss normalised by the supervised tokens of the
 * whole accumulated batch (so accumulation gives the gradient of one big batch).
 *
 * <p>The LM head and log-softmax run over chunks of supervised rows; each chunk's loss is
 * back-propagated into a detached copy of the hidden rows right away, freeing its {@code chunk x vocab}
 * logits, and one final backward carries the collected gradient through the decoder. Peak memory of
 * the head is one chunk, whatever the vocabulary.
 */
public final class LossStep {

    private final Decoder model;
    private final int chunkRows;

    public LossStep(Decoder model, int chunkRows) {
        this.model = model;
        this.chunkRows = chunkRows;
    }

    /**
     * Runs forward and backward; gradients accumulate in the parameters.
     *
     * @param scale 1 / supervised tokens of the accumulated batch
     * @return the summed (unscaled) loss of this micro-batch
     */
    public double forwardBackward(Batch batch, double scale, NDManager scope) {
        CausalLmLoss.Targets targets = CausalLmLoss.Targets.of(batch.labels());
        if (targets.count() == 0) {
            return 0;
        }
        boolean was = Tensors.gradMode(true);
        try {
            NDArray hidden = model.forward(batch.inputs(), scope, null, true);
            NDArray rows = CausalLmLoss.selectRows(hidden, targets, scope);
            NDArray detached = rows.stopGradient();
            detached.setRequiresGradient(true);
            NDArray scaleArr = scope.create((float) scale);  // kept open until backward: no scalar use-after-free
            double total = 0;
            long n = targets.count();
            UnaryOperator<NDArray> head = model.head();
            for (long start = 0; start < n; start += chunkRows) {
                long end = Math.min(n, start + chunkRows);
                NDArray part = CausalLmLoss.chunkSum(detached.get(new NDIndex(start + ":" + end)), targets.labels(),
                        (int) start, (int) end, head, scope);
                total += Tensors.scalar(part);
                NDArray scaled = part.mul(scaleArr);
                Tensors.backward(scaled, scope.ones(scaled.getShape()), false);
            }
            NDArray rowGrad = Tensors.gradOrNull(detached);
            Tensors.backward(rows, rowGrad, false);
            return total;
        } finally {
            Tensors.gradMode(was);
        }
    }

    /** Summed loss and supervised count of a batch without gradients (validation). */
    double[] evaluate(Batch batch, NDManager scope) {
        CausalLmLoss.Targets targets = CausalLmLoss.Targets.of(batch.labels());
        if (targets.count() == 0) {
            return new double[] {0, 0};
        }
        boolean was = Tensors.gradMode(false);
        try {
            NDArray hidden = model.forward(batch.inputs(), scope, null, false);
            NDArray rows = CausalLmLoss.selectRows(hidden, targets, scope);
            double sum = Tensors.scalar(CausalLmLoss.sum(rows, targets.labels(), model.head(), chunkRows, scope));
            return new double[] {sum, targets.count()};
        } finally {
            Tensors.gradMode(was);
        }
    }
}
