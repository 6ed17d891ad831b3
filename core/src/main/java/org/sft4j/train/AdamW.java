package org.sft4j.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import org.sft4j.model.Parameter;
import org.sft4j.nd.Compute;
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
    private int step;

    public AdamW(List<Parameter> params, double beta1, double beta2, double eps, double weightDecay, boolean decayAll,
                 Compute compute, NDManager parent) {
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
        }
    }

    /** Weight decay applies to matrices (linear weights, embeddings), not to norm weights or biases. */
    boolean decays(Parameter p) {
        return decayAll || p.array().getShape().dimension() >= 2;
    }

    /** One update with learning rate {@code lr}; gradients must already be scaled and clipped. */
    public void step(double lr) {
        step++;
        for (boolean decayGroup : new boolean[] {true, false}) {
            List<NDArray> ws = new ArrayList<>();
            List<NDArray> ms = new ArrayList<>();
            List<NDArray> vs = new ArrayList<>();
            for (Parameter p : params) {
                if (decays(p) == decayGroup) {
                    ws.add(p.array());
                    ms.add(m.get(p.name()));
                    vs.add(v.get(p.name()));
                }
            }
            if (!ws.isEmpty()) {
                compute.adamW(ws, ms, vs, step, lr, beta1, beta2, decayGroup ? weightDecay : 0, eps);
            }
        }
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

    /** Frees the moments. */
    @Override
    public void close() {
        manager.close();
    }
}
