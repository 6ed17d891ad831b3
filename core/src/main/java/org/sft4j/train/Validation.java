package org.sft4j.train;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import org.sft4j.data.Batcher;
import org.sft4j.data.TokenizedSet;
import org.sft4j.model.Decoder;

import java.util.List;

/** Mean loss per supervised token of a tokenized split, without gradients (validation and evaluation). */
public final class Validation {

    private Validation() {}

    public static double meanLoss(Decoder model, TokenizedSet set, int batchSize, int chunkRows) {
        LossStep step = new LossStep(model, chunkRows);
        Batcher b = new Batcher(set, batchSize, null, false, 0, false);
        double sum = 0;
        double count = 0;
        for (List<int[]> plan : b.epochPlan(0)) {
            try (NDScope scope = new NDScope(); NDManager sm = model.manager().newSubManager()) {
                double[] r = step.evaluate(b.materialize(plan), sm);
                sum += r[0];
                count += r[1];
            }
        }
        return count == 0 ? Double.NaN : sum / count;
    }
}
