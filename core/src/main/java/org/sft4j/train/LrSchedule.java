package org.sft4j.train;

import org.sft4j.base.UserError;

/**
 * Learning rate per optimizer step, as transformers' {@code get_*_schedule_with_warmup}:
 * <ol>
 *   <li>linear warm-up from 0 over {@code warmupSteps},</li>
 *   <li>then {@code linear} decay to 0, {@code cosine} decay to 0, or {@code constant}.</li>
 * </ol>
 * Step 0 of a run with warm-up therefore has lr 0, exactly as in transformers.
 */
public record LrSchedule(String type, double peak, int warmupSteps, int totalSteps) {

    public LrSchedule {
        if (totalSteps <= 0) {
            throw new UserError("the run has no optimizer steps (totalSteps=" + totalSteps + ")");
        }
    }

    /** Warm-up steps from the config: explicit steps win over the ratio (rounded up, as transformers). */
    public static int warmupSteps(int steps, double ratio, int total) {
        return steps > 0 ? steps : (int) Math.ceil(ratio * total);
    }

    public double lrAt(int step) {
        if (step < warmupSteps) {
            return peak * step / Math.max(1, warmupSteps);
        }
        double progress = (double) (step - warmupSteps) / Math.max(1, totalSteps - warmupSteps);
        return switch (type) {
            case "cosine" -> peak * Math.max(0.0, 0.5 * (1.0 + Math.cos(Math.PI * progress)));
            case "linear" -> peak * Math.max(0.0, (double) (totalSteps - step) / Math.max(1, totalSteps - warmupSteps));
            default -> peak;
        };
    }
}
