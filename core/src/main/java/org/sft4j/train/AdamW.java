package org.sft4j.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import org.sft4j.model.Parameter;
import org.sft4j.nd.AdamWStep;
import org.sft4j.nd.Bf16Update;
import org.sft4j.nd.Compute;
import org.sft4j.nd.DataTypes;
import org.sft4j.nd.StepScope;
import org.sft4j.nd.Tensors;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * AdamW with {@code torch.optim.AdamW}'s single-tensor semantics (DJL's own differs: it adds epsilon
 * before the bias correction, clones each gradient and clips element-wise):
 * <pre>
 *   p *= 1 - lr * wd                      (decoupled decay; not on norms/biases unless asked)
 *   m = b1 m + (1 - b1) g
 *   v = b2 v + (1 - b2) g^2
 *   p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
 * </pre>
 * The update itself is the model's {@link Compute}'s (PyTorch's fused kernel with the native extension). Moments are
 * fp32 (bf16 for bf16 weights) and live in the optimizer's own manager, outside every step; {@link #close()} frees
 * them, so a notebook that trains a model twice holds one set of moments at a time.
 *
 * <p>bf16 weights take their update as {@link Bf16Update} says: under Kahan summation each has a bf16 compensation
 * buffer too (checkpointed beside the moments); stochastic rounding draws from (seed, step), so a resumed run rounds
 * as the uninterrupted one would.
 */
public final class AdamW implements AutoCloseable {

    private final List<Parameter> params;
    private final double beta1;
    private final double beta2;
    private final double eps;
    private final double weightDecay;
    private final boolean decayAll;
    private final Compute compute;
    private final NDManager manager;
    private final Map<String, NDArray> m = new LinkedHashMap<>();
    private final Map<String, NDArray> v = new LinkedHashMap<>();
    private final Map<String, NDArray> compensation = new LinkedHashMap<>();
    private final Bf16Update bf16;
    private final long seed;
    private int step;

    /** As the full constructor, bf16 weights updated as {@link Bf16Update#defaultFor} the compute's precision says. */
    public AdamW(List<Parameter> params, double beta1, double beta2, double eps, double weightDecay, boolean decayAll,
                 Compute compute, NDManager parent) {
        this(params, beta1, beta2, eps, weightDecay, decayAll, compute, parent,
                Bf16Update.defaultFor(compute.precision()), 0);
    }

    /**
     * @param bf16 how bf16 weights take their update (no effect on fp32 ones)
     * @param seed the run's seed (stochastic rounding)
     */
    public AdamW(List<Parameter> params, double beta1, double beta2, double eps, double weightDecay, boolean decayAll,
                 Compute compute, NDManager parent, Bf16Update bf16, long seed) {
        this.bf16 = bf16;
        this.seed = seed;
        this.params = List.copyOf(params);
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.eps = eps;
        this.weightDecay = weightDecay;
        this.decayAll = decayAll;
        this.compute = compute;
        this.manager = parent.newSubManager();
        for (Parameter p : params) {
            m.put(p.name(), Tensors.keep(compute.moment(p.array()), manager));
            v.put(p.name(), Tensors.keep(compute.moment(p.array()), manager));
            if (bf16 == Bf16Update.KAHAN && DataTypes.of(p.array()) == DataType.BFLOAT16) {
                compensation.put(p.name(), Tensors.keep(compute.compensation(p.array()), manager));
            }
        }
    }

    /** Weight decay applies to matrices (linear weights, embeddings), not to norm weights or biases. */
    boolean decays(Parameter p) {
        return decayAll || p.array().getShape().dimension() >= 2;
    }

    /** One update with learning rate {@code lr}; gradients must already be scaled and clipped. */
    public void step(double lr) {
        step(lr, 1);
    }

    /**
     * One update with learning rate {@code lr} of the gradients multiplied by {@code gradCoef} (a clipping coefficient
     * applied as the update reads them, instead of a pass of its own; the gradients may be left so).
     */
    public void step(double lr, double gradCoef) {
        step++;
        boolean was = Tensors.gradMode(false);
        try (StepScope scope = StepScope.open(manager)) {                      // frees the gradient handles
            for (boolean decayGroup : new boolean[] {true, false}) {
                List<NDArray> ws = new ArrayList<>();
                List<NDArray> gs = new ArrayList<>();
                List<NDArray> ms = new ArrayList<>();
                List<NDArray> vs = new ArrayList<>();
                List<NDArray> cs = new ArrayList<>();
                for (Parameter p : params) {
                    NDArray g = decays(p) == decayGroup ? Tensors.gradOrNull(p.array()) : null;
                    if (g != null) {
                        ws.add(p.array());
                        gs.add(g);
                        ms.add(m.get(p.name()));
                        vs.add(v.get(p.name()));
                        cs.add(compensation.get(p.name()));
                    }
                }
                if (!ws.isEmpty()) {
                    long groupSeed = (seed * 1_000_003L + step) * 2 + (decayGroup ? 1 : 0);
                    compute.adamW(ws, gs, ms, vs, cs, new AdamWStep(step, lr, beta1, beta2,
                            decayGroup ? weightDecay : 0, eps, bf16, groupSeed, gradCoef));
                }
            }
        } finally {
            Tensors.gradMode(was);
        }
    }

    /** How bf16 weights take their update. */
    public Bf16Update bf16Update() {
        return bf16;
    }

    public int stepCount() {
        return step;
    }

    /** Restores the step counter (with moments loaded through {@link #moments()}). */
    public void setStepCount(int s) {
        this.step = s;
    }

    /** First and second moments by parameter name, for checkpoints ({@code m.<name>}, {@code v.<name>}). */
    public Map<String, NDArray> moments() {
        Map<String, NDArray> all = new LinkedHashMap<>();
        m.forEach((k, x) -> all.put("m." + k, x));
        v.forEach((k, x) -> all.put("v." + k, x));
        return all;
    }

    /**
     * Kahan compensation buffers by parameter name, for checkpoints ({@code c.<name>}); empty unless bf16 weights are
     * updated with {@link Bf16Update#KAHAN}. A checkpoint without them resumes from zero compensation.
     */
    public Map<String, NDArray> compensation() {
        Map<String, NDArray> all = new LinkedHashMap<>();
        compensation.forEach((k, x) -> all.put("c." + k, x));
        return all;
    }

    /** Frees the moments. */
    @Override
    public void close() {
        manager.close();
    }
}
