package org.sft4j.train;

import ai.djl.ndarray.NDArray;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.core.Linear;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;
import ai.djl.pytorch.jni.JniUtils;
import org.sft4j.nd.NativeOps;
import org.sft4j.nd.Tensors;

import java.util.function.UnaryOperator;

/**
 * Next-token cross-entropy over supervised tokens only, in fp32, without materialising logits for
 * masked positions or for the whole batch at once.
 *
 * <p>Labels follow the Hugging Face convention: {@code labels[t]} is the target of the token at t,
 * -100 where no loss is taken, and the shift happens here: hidden state t predicts {@code labels[t+1]}.
 * The supervised rows are gathered first (prompt tokens never reach the LM head), then the head and
 * log-softmax run over chunks of rows so a 150k vocabulary costs {@code chunk x vocab} floats at a time.
 */
public final class CausalLmLoss {

    public static final long IGNORE_INDEX = -100;

    private CausalLmLoss() {}

    /**
     * Where loss is taken: flat row indices {@code b*T + t} and the token each must predict.
     */
    public record Targets(long[] rows, long[] labels) {
        public int count() {
            return rows.length;
        }

        /** Positions t (for every row b) whose next label is not {@link #IGNORE_INDEX}. */
        public static Targets of(long[][] labels) {
            int b = labels.length;
            int t = b == 0 ? 0 : labels[0].length;
            int n = 0;
            for (long[] row : labels) {
                for (int j = 1; j < t; j++) {
                    if (row[j] != IGNORE_INDEX) {
                        n++;
                    }
                }
            }
            long[] rows = new long[n];
            long[] targets = new long[n];
            int k = 0;
            for (int i = 0; i < b; i++) {
                for (int j = 0; j + 1 < t; j++) {
                    if (labels[i][j + 1] != IGNORE_INDEX) {
                        rows[k] = (long) i * t + j;
                        targets[k++] = labels[i][j + 1];
                    }
                }
            }
            return new Targets(rows, targets);
        }
    }

    /** The supervised hidden rows (N, hidden), gathered from (B, T, hidden). */
    public static NDArray selectRows(NDArray hidden, Targets targets, NDManager scope) {
        Shape s = hidden.getShape();
        NDArray flat = hidden.reshape(s.get(0) * s.get(1), s.get(2));
        NDArray idx = scope.create(targets.rows());
        return JniUtils.indexAdv((PtNDArray) flat, new NDIndex("{}", idx), (PtNDManager) flat.getManager());
    }

    private static UnaryOperator<NDArray> linear(NDArray headWeight) {
        return h -> Linear.linear(h, headWeight).head();
    }

    /** Summed negative log-likelihood of the targets, differentiable w.r.t. {@code rows} and the head. */
    public static NDArray sum(NDArray rows, long[] labels, NDArray headWeight, int chunkRows, NDManager scope) {
        return sum(rows, labels, linear(headWeight), chunkRows, scope);
    }

    /** As above, with the head as a function from hidden rows to logits ({@code Decoder.head()}). */
    public static NDArray sum(NDArray rows, long[] labels, UnaryOperator<NDArray> head, int chunkRows, NDManager scope) {
        return sum(rows, labels, head, chunkRows, scope, false);
    }

    /** As above; {@code fused}: the native extension's cross-entropy kernel instead of log-softmax and gather. */
    public static NDArray sum(NDArray rows, long[] labels, UnaryOperator<NDArray> head, int chunkRows, NDManager scope,
                              boolean fused) {
        long n = rows.getShape().get(0);
        NDArray total = null;
        for (long start = 0; start < n; start += chunkRows) {
            long end = Math.min(n, start + chunkRows);
            NDArray part = chunkSum(rows.get(new NDIndex(start + ":" + end)), labels, (int) start, (int) end,
                    head, scope, fused);
            total = total == null ? part : total.add(part);
        }
        return total == null ? scope.zeros(new Shape(), DataType.FLOAT32) : total;
    }

    /** NLL summed over rows [start, end) of the selected rows. */
    static NDArray chunkSum(NDArray rows, long[] labels, int start, int end, UnaryOperator<NDArray> head, NDManager scope,
                            boolean fused) {
        long[] tgt = java.util.Arrays.copyOfRange(labels, start, end);
        NDArray logits = head.apply(rows);                                   // (n, V)
        if (fused) {
            return NativeOps.crossEntropySum(logits, scope.create(tgt), IGNORE_INDEX);
        }
        NDArray logp = Tensors.logSoftmaxFp32(logits, -1);                   // fp32 whatever the compute dtype
        NDArray picked = logp.gather(scope.create(tgt).reshape(tgt.length, 1), 1);
        return picked.sum().neg();
    }

    /**
     * Mean loss of a whole batch as one differentiable scalar (used for evaluation and parity tests).
     */
    public static NDArray mean(NDArray hidden, long[][] labels, NDArray headWeight, int chunkRows, NDManager scope) {
        return mean(hidden, labels, linear(headWeight), chunkRows, scope);
    }

    public static NDArray mean(NDArray hidden, long[][] labels, UnaryOperator<NDArray> head, int chunkRows, NDManager scope) {
        Targets t = Targets.of(labels);
        NDArray rows = selectRows(hidden, t, scope);
        NDArray s = sum(rows, t.labels(), head, chunkRows, scope);
        NDArray count = scope.create((float) Math.max(1, t.count()));
        return s.div(count);
    }

}
