package org.sft4j.nd;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.nn.Activation;
import ai.djl.nn.core.Linear;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;

/**
 * {@link Compute} from DJL's own operations, in fp32: what runs without the native extension, and the reference the
 * native kernels are checked against.
 *
 * <p>Constants that differentiable code multiplies by are tensors kept for the process (never DJL's
 * {@code mul(Number)}, whose scalar is freed before backward reads it on CPU: notes/djl-engine-findings.md 5.1).
 */
final class PortableCompute implements Compute {

    static final PortableCompute INSTANCE = new PortableCompute();

    private PortableCompute() {}

    @Override
    public Precision precision() {
        return Precision.FP32;
    }

    @Override
    public String describe() {
        return "portable DJL operations, fp32";
    }

    @Override
    public String toString() {
        return describe();
    }

    @Override
    public NDArray weight(NDArray loaded) {
        return loaded;
    }

    @Override
    public NDArray linear(NDArray x, NDArray w, NDArray b) {
        return Linear.linear(x, w, b).head();
    }

    @Override
    public NDArray linearForElementwise(NDArray x, NDArray w, NDArray b) {
        return linear(x, w, b);
    }

    @Override
    public NDArray siluMul(NDArray gate, NDArray up) {
        return gate.mul(Activation.sigmoid(gate)).mul(up);
    }

    @Override
    public NDArray geluTanhMul(NDArray gate, NDArray up) {
        // 0.5 g (1 + tanh(sqrt(2/pi) (g + 0.044715 g^3))), torch's gelu(approximate='tanh')
        NDArray inner = gate.add(gate.mul(gate).mul(gate).mul(constant(gate, 0.044715)))
                .mul(constant(gate, Math.sqrt(2 / Math.PI)));
        return gate.mul(inner.tanh().add(constant(gate, 1))).mul(constant(gate, 0.5)).mul(up);
    }

    @Override
    public NDArray rmsNorm(NDArray x, NDArray weight, double eps) {
        NDArray variance = x.square().mean(new int[] {-1}, true);
        return x.div(variance.add(constant(x, eps)).sqrt()).mul(weight);
    }

    @Override
    public NDArray rmsNormPlusOne(NDArray x, NDArray weight, double eps) {
        NDArray normed = x.div(x.square().mean(new int[] {-1}, true).add(constant(x, eps)).sqrt());
        return normed.add(normed.mul(weight));   // x̂ (1 + w) with x̂ first, so the step's scope owns the result
    }

    @Override
    public NDArray rope(NDArray x, NDArray cos, NDArray sin) {
        long rotary = cos.getShape().get(3);
        if (rotary < x.getShape().get(3)) {
            NDList parts = x.split(new long[] {rotary}, 3);
            return rope(parts.get(0), cos, sin).concat(parts.get(1), 3);
        }
        NDList halves = x.split(2, 3);
        NDArray rotated = halves.get(1).neg().concat(halves.get(0), 3);
        return x.mul(cos).add(rotated.mul(sin));
    }

    @Override
    public NDArray softcap(NDArray x, double cap) {
        return x.div(constant(x, cap)).tanh().mul(constant(x, cap));
    }

    @Override
    public NDArray activations(NDArray fp32) {
        return fp32;
    }

    @Override
    public boolean implicitCausalMask() {
        return false;
    }

    @Override
    public NDArray attention(NDArray q, NDArray k, NDArray v, NDArray mask, double scale, int kvGroups) {
        if (kvGroups > 1) {
            k = k.repeat(1, kvGroups);                                       // repeat_interleave: (B, H, S, D)
            v = v.repeat(1, kvGroups);
        }
        NDArray scores = q.matMul(k.transpose(0, 1, 3, 2)).mul(constant(q, scale)).add(mask);
        NDArray probs = Tensors.softmaxFp32(scores, -1);                     // (B, H, T, S)
        if (probs.getDataType() != v.getDataType()) {
            probs = probs.toType(v.getDataType(), false);
        }
        return probs.matMul(v);
    }

    @Override
    public NDArray softcappedAttention(NDArray q, NDArray k, NDArray v, NDArray mask, double scale, int kvGroups,
                                       double cap) {
        if (kvGroups > 1) {
            k = k.repeat(1, kvGroups);
            v = v.repeat(1, kvGroups);
        }
        NDArray scores = softcap(q.matMul(k.transpose(0, 1, 3, 2)).mul(constant(q, scale)), cap).add(mask);
        NDArray probs = Tensors.softmaxFp32(scores, -1);
        if (probs.getDataType() != v.getDataType()) {
            probs = probs.toType(v.getDataType(), false);
        }
        return probs.matMul(v);
    }

    @Override
    public NDArray withAdapter(NDArray y, NDArray x, UnaryOperator<NDArray> adapter) {
        return y.add(adapter.apply(x));
    }

    @Override
    public UnaryOperator<NDArray> head(NDArray weight) {
        return h -> Linear.linear(h, weight).head();
    }

    @Override
    public NDArray float32(NDArray x) {
        return x.getDataType() == DataType.FLOAT32 ? x : x.toType(DataType.FLOAT32, false);
    }

    @Override
    public NDArray crossEntropySum(NDArray logits, NDArray targets) {
        NDArray logp = Tensors.logSoftmaxFp32(logits, -1);                    // fp32 whatever the logits' type
        return logp.gather(targets.reshape(targets.getShape().get(0), 1), 1).sum().neg();
    }

    @Override
    public double clipGradients(List<NDArray> params, double maxNorm, double lossScale) {
        boolean was = Tensors.gradMode(false);
        try (NDScope scope = new NDScope()) {                                  // frees the gradient handles
            List<NDArray> grads = Tensors.gradients(params);
            if (grads.isEmpty()) {
                return 0;
            }
            if (lossScale != 1) {
                grads.forEach(g -> g.muli(1.0 / lossScale));                   // each handle is a view of p.grad
            }
            // per-tensor norms, then the norm of norms, as torch does; read once
            NDList norms = new NDList();
            grads.forEach(g -> norms.add(g.norm()));
            double total = Tensors.scalar(NDArrays.stack(norms).norm());
            double coef = maxNorm / (total + 1e-6);
            if (maxNorm > 0 && coef < 1.0) {
                grads.forEach(g -> g.muli(coef));
            }
            return total;
        } finally {
            Tensors.gradMode(was);
        }
    }

    @Override
    public NDArray moment(NDArray param) {
        NDArray zeros = param.zerosLike();
        if (zeros.getDataType() == DataType.FLOAT32) {
            return zeros;
        }
        NDArray fp32 = zeros.toType(DataType.FLOAT32, false);
        zeros.close();
        return fp32;
    }

    @Override
    public void adamW(List<NDArray> params, List<NDArray> m, List<NDArray> v, int step, double lr, double beta1,
                      double beta2, double weightDecay, double eps) {
        double bc1 = 1 - Math.pow(beta1, step);
        double bc2Sqrt = Math.sqrt(1 - Math.pow(beta2, step));
        boolean was = Tensors.gradMode(false);
        try (NDScope scope = new NDScope()) {                                  // frees every temporary of the update
            for (int i = 0; i < params.size(); i++) {
                NDArray g = Tensors.gradOrNull(params.get(i));
                if (g == null) {
                    continue;
                }
                NDArray w = params.get(i);
                if (weightDecay != 0 && lr != 0) {
                    w.muli(1 - lr * weightDecay);                              // decoupled decay
                }
                NDArray mt = m.get(i);
                NDArray vt = v.get(i);
                mt.muli(beta1).addi(g.mul(1 - beta1));
                vt.muli(beta2).addi(g.square().muli(1 - beta2));
                NDArray denom = vt.sqrt().divi(bc2Sqrt).addi(eps);
                w.subi(mt.div(denom).muli(lr / bc1));
            }
        } finally {
            Tensors.gradMode(was);
        }
    }

    /**
     * {@code value} as a 0-d tensor of {@code like}'s type on {@code like}'s device, made once per process: a GPU gets
     * no host-to-device copy (a synchronisation) per operation.
     */
    private static NDArray constant(NDArray like, double value) {
        Constant key = new Constant(like.getDevice(), like.getDataType(), value);
        synchronized (CONSTANTS) {
            NDArray c = CONSTANTS.get(key);
            if (c == null) {
                NDManager owner = OWNERS.computeIfAbsent(key.device(), Engines::newManager);
                NDArray fp32 = owner.create((float) value);
                c = key.type() == DataType.FLOAT32 ? fp32 : fp32.toType(key.type(), false);
                CONSTANTS.put(key, Tensors.keep(c, owner));   // outside every step: it must outlive the first one
            }
            return c;
        }
    }

    private record Constant(Device device, DataType type, double value) {}

    private static final Map<Constant, NDArray> CONSTANTS = new HashMap<>();
    private static final Map<Device, NDManager> OWNERS = new HashMap<>();
}
