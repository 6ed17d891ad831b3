package org.sft4j.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import org.sft4j.nd.Compute;
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
        return selectRows(hidden, scope.create(targets.rows()));
    }

    /**
     * As above with the rows' flat indices as an int64 array, which must stay open until backward has run through the
     * result (on CPU its memory is the Java buffer it was made from: notes/djl-engine-findings.md 5.1).
     */
    static NDArray selectRows(NDArray hidden, NDArray rowIndex) {
        Shape s = hidden.getShape();
        NDArray flat = hidden.reshape(s.get(0) * s.get(1), s.get(2));
        return Tensors.rows(flat, rowIndex);
    }

    private static UnaryOperator<NDArray> linear(NDArray headWeight) {
        return Compute.portable().head(headWeight);
    }

    /** Summed negative log-likelihood of the targets, differentiable w.r.t. {@code rows} and the head. */
    public static NDArray sum(NDArray rows, long[] labels, NDArray headWeight, int chunkRows, NDManager scope) {
        return sum(rows, labels, linear(headWeight), chunkRows, scope);
    }

    /** As above, with the head as a function from hidden rows to logits ({@code Decoder.head()}). */
    public static NDArray sum(NDArray rows, long[] labels, UnaryOperator<NDArray> head, int chunkRows, NDManager scope) {
        return sum(rows, labels, head, chunkRows, scope, Compute.portable());
    }

    /** As above, with {@code compute}'s cross-entropy (the native kernel, or log-softmax and gather). */
    public static NDArray sum(NDArray rows, long[] labels, UnaryOperator<NDArray> head, int chunkRows, NDManager scope,
                              Compute compute) {
        return sum(rows, scope.create(labels), head, chunkRows, scope, compute);
    }

    /**
     * As above with the labels already an int64 array of the rows' device, open until backward has run, each chunk's
     * a slice of it: one copy from the host for the whole batch (on a GPU a copy from host memory first waits for all
     * queued work, so one per chunk would stall the device between chunks).
     */
    static NDArray sum(NDArray rows, NDArray labels, UnaryOperator<NDArray> head, int chunkRows, NDManager scope,
                       Compute compute) {
        long n = rows.getShape().get(0);
        NDArray total = null;
        for (long start = 0; start < n; start += chunkRows) {
            NDIndex chunk = new NDIndex(start + ":" + Math.min(n, start + chunkRows));
            NDArray part = chunkSum(rows.get(chunk), labels.get(chunk), head, compute);
            total = total == null ? part : total.add(part);
        }
        return total == null ? scope.zeros(new Shape(), DataType.FLOAT32) : total;
    }

    /** NLL summed over some selected rows and their labels. */
    static NDArray chunkSum(NDArray rows, NDArray labels, UnaryOperator<NDArray> head, Compute compute) {
        return compute.crossEntropySum(head.apply(rows), labels);   // logits (n, V), summed in fp32
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
