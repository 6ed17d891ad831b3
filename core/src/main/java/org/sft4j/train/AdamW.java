package org.sft4j.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import org.sft4j.model.Parameter;
import org.sft4j.nd.NativeOps;
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
 * Moments are fp32 (bf16 for bf16 parameters) and live in the optimizer's own manager, outside every step scope.
 */
public final class AdamW implements AutoCloseable {

    private final List<Parameter> params;
    private final double beta1;
    private final double beta2;
    private final double eps;
    private final double weightDecay;
    private final boolean decayAll;
    private final NDManager manager;
    private final Map<String, NDArray> m = new LinkedHashMap<>();
    private final Map<String, NDArray> v = new LinkedHashMap<>();
    private int step;
    /** PyTorch's fused AdamW kernel (native extension) instead of DJL operations. */
    private final boolean fused = NativeOps.available();

    public AdamW(List<Parameter> params, double beta1, double beta2, double eps, double weightDecay, boolean decayAll,
                 NDManager parent) {
        this.params = List.copyOf(params);
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.eps = eps;
        this.weightDecay = weightDecay;
        this.decayAll = decayAll;
        this.manager = parent.newSubManager();
        for (Parameter p : params) {
            m.put(p.name(), Tensors.keep(zeroMoment(p.array()), manager));
            v.put(p.name(), Tensors.keep(zeroMoment(p.array()), manager));
        }
    }

    /** Moments are fp32, or bf16 for bf16 parameters (pure bf16), as torch makes them with zeros_like. */
    private static NDArray zeroMoment(NDArray param) {
        if (param.getDataType() == DataType.UNKNOWN) {
            return NativeOps.zerosLike(param);
        }
        return param.zerosLike().toType(DataType.FLOAT32, false);
    }

    /** Weight decay applies to matrices (linear weights, embeddings), not to norm weights or biases. */
    boolean decays(Parameter p) {
        return decayAll || p.array().getShape().dimension() >= 2;
    }

    /** One update with learning rate {@code lr}; gradients must already be scaled and clipped. */
    public void step(double lr) {
        step++;
        if (fused) {
            fusedStep(lr);
            return;
        }
        double bc1 = 1 - Math.pow(beta1, step);
        double bc2Sqrt = Math.sqrt(1 - Math.pow(beta2, step));
        boolean was = Tensors.gradMode(false);
        try (ai.djl.ndarray.NDScope scope = new ai.djl.ndarray.NDScope()) {   // frees every temporary of the update
            for (Parameter p : params) {
                NDArray g = Tensors.gradOrNull(p.array());
                if (g == null) {
                    continue;
                }
                NDArray w = p.array();
                if (weightDecay != 0 && lr != 0 && decays(p)) {
                    w.muli(1 - lr * weightDecay);
                }
                NDArray mt = m.get(p.name());
                NDArray vt = v.get(p.name());
                mt.muli(beta1).addi(g.mul(1 - beta1));
                vt.muli(beta2).addi(g.square().muli(1 - beta2));
                NDArray denom = vt.sqrt().divi(bc2Sqrt).addi(eps);
                w.subi(mt.div(denom).muli(lr / bc1));
            }
        } finally {
            Tensors.gradMode(was);
        }
    }

    /** The same update through PyTorch's fused kernel (one launch per group instead of ~10 per parameter). */
    private void fusedStep(double lr) {
        try (ai.djl.ndarray.NDScope scope = new ai.djl.ndarray.NDScope()) {
            for (boolean decayGroup : new boolean[] {true, false}) {
                List<NDArray> ws = new ArrayList<>();
                List<NDArray> gs = new ArrayList<>();
                List<NDArray> ms = new ArrayList<>();
                List<NDArray> vs = new ArrayList<>();
                for (Parameter p : params) {
                    NDArray g = Tensors.gradOrNull(p.array());
                    if (g != null && decays(p) == decayGroup) {
                        ws.add(p.array());
                        gs.add(g);
                        ms.add(m.get(p.name()));
                        vs.add(v.get(p.name()));
                    }
                }
                if (!ws.isEmpty()) {
                    NDArray stepTensor = ws.get(0).getManager().create((float) step);
                    NativeOps.fusedAdamW(ws, gs, ms, vs, stepTensor, lr, beta1, beta2, decayGroup ? weightDecay : 0, eps);
                }
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

    @Override
    public void close() {
        manager.close();
    }
}
