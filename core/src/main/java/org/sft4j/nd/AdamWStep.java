package org.sft4j.nd;

/**
 * The scalars of one AdamW update, as {@code torch.optim.AdamW} takes them, plus how bf16 weights receive it.
 *
 * @param step 1-based step count (bias correction)
 * @param lr learning rate
 * @param beta1 first moment decay
 * @param beta2 second moment decay
 * @param weightDecay decoupled weight decay (0 for norms and biases unless the run decays them)
 * @param eps added to the denominator
 * @param bf16 how a bf16 weight takes its new value (no effect on fp32 weights)
 * @param seed varies stochastic rounding by run, step and parameter group: the same seed gives the same update
 * @param gradCoef the gradients are multiplied by this first (a clipping coefficient folded into the update instead
 *                 of a pass of its own over them; 1: as they are)
 */
public record AdamWStep(int step, double lr, double beta1, double beta2, double weightDecay, double eps, Bf16Update bf16,
                        long seed, double gradCoef) {

    /** An update of the gradients as they are. */
    public AdamWStep(int step, double lr, double beta1, double beta2, double weightDecay, double eps, Bf16Update bf16,
                     long seed) {
        this(step, lr, beta1, beta2, weightDecay, eps, bf16, seed, 1);
    }

    /** {@code 1 - beta1^step}. */
    public double biasCorrection1() {
        return 1 - Math.pow(beta1, step);
    }

    /** {@code sqrt(1 - beta2^step)}. */
    public double biasCorrection2Sqrt() {
        return Math.sqrt(1 - Math.pow(beta2, step));
    }
}
