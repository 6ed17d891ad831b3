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
    public DataType weightType(boolean frozenMatrix) {
        return DataType.FLOAT32;
    }

    @Override
    public NDArray linear(NDArray x, NDArray w, NDArray b) {
        return Linear.linear(x, w, b).head();
    }

    @Override
    public NDArray linearInProductType(NDArray x, NDArray w, NDArray b) {
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
    public NDArray rope(NDArray x, NDArray cos, NDArray signedSin) {
        long rotary = cos.getShape().get(3);
        if (rotary < x.getShape().get(3)) {
            NDList parts = x.split(new long[] {rotary}, 3);
            return rope(parts.get(0), cos, signedSin).concat(parts.get(1), 3);
        }
        NDList halves = x.split(2, 3);
        NDArray swapped = halves.get(1).concat(halves.get(0), 3);   // the sign is in signedSin
        return x.mul(cos).add(swapped.mul(signedSin));
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
    public NDArray productInput(NDArray x) {
        return x;
    }

    @Override
    public NDArray adapterLinear(NDArray x, NDArray w) {
        return Linear.linear(x, w).head();
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

    /**
     * torch's single-tensor AdamW composed of DJL operations. A bf16 weight (which exists only with the extension)
     * is updated in fp32 and written back under {@code step.bf16()}'s rule: the reference the extension's fused
     * kernel is checked against, and its stand-in on a GPU for which the extension has no kernel.
     */
    @Override
    public void adamW(List<NDArray> params, List<NDArray> grads, List<NDArray> m, List<NDArray> v,
                      List<NDArray> compensation, AdamWStep step) {
        boolean was = Tensors.gradMode(false);
        try (NDScope scope = new NDScope()) {                                  // frees every temporary of the update
            if (step.gradCoef() != 1) {
                grads.forEach(g -> g.muli(step.gradCoef()));
            }
            for (int i = 0; i < params.size(); i++) {
                NDArray w = params.get(i);
                if (DataTypes.of(w) == DataType.FLOAT32) {
                    adamWFp32(w, grads.get(i), m.get(i), v.get(i), step);
                } else {
                    adamWLowPrecision(w, grads.get(i), m.get(i), v.get(i),
                            compensation.isEmpty() ? null : compensation.get(i), step);
                }
            }
        } finally {
            Tensors.gradMode(was);
        }
    }

    private static void adamWFp32(NDArray w, NDArray g, NDArray mt, NDArray vt, AdamWStep s) {
        if (s.weightDecay() != 0 && s.lr() != 0) {
            w.muli(1 - s.lr() * s.weightDecay());                              // decoupled decay
        }
        mt.muli(s.beta1()).addi(g.mul(1 - s.beta1()));
        vt.muli(s.beta2()).addi(g.square().muli(1 - s.beta2()));
        NDArray denom = vt.sqrt().divi(s.biasCorrection2Sqrt()).addi(s.eps());
        w.subi(mt.div(denom).muli(s.lr() / s.biasCorrection1()));
    }

    /** The arithmetic of native/src/adamw_bf16.h in fp32 temporaries; moments and weight written back in their type. */
    private static void adamWLowPrecision(NDArray w, NDArray g, NDArray m, NDArray v, NDArray comp, AdamWStep s) {
        NDArray g32 = DataTypes.cast(g, DataType.FLOAT32);
        NDArray m32 = DataTypes.cast(m, DataType.FLOAT32).muli(s.beta1()).addi(g32.mul(1 - s.beta1()));
        NDArray v32 = DataTypes.cast(v, DataType.FLOAT32).muli(s.beta2()).addi(g32.square().muli(1 - s.beta2()));
        Tensors.copyInto(m, m32);
        Tensors.copyInto(v, v32);
        NDArray adam = m32.div(v32.sqrt().divi(s.biasCorrection2Sqrt()).addi(s.eps())).muli(s.lr() / s.biasCorrection1());
        NDArray w32 = DataTypes.cast(w, DataType.FLOAT32);
        double decay = s.lr() * s.weightDecay();
        switch (s.bf16()) {
            case NEAREST -> Tensors.copyInto(w, w32.sub(w32.mul(decay)).subi(adam));
            case KAHAN -> {
                // the weight the run would hold in fp32 is w + c: decay it, add the step, round once, keep the rest
                NDArray c32 = DataTypes.cast(comp, DataType.FLOAT32);
                NDArray y = c32.sub(w32.add(c32).muli(decay)).subi(adam);
                NDArray rounded = DataTypes.cast(w32.add(y), DataTypes.of(w));
                Tensors.copyInto(comp, y.subi(DataTypes.cast(rounded, DataType.FLOAT32).sub(w32)));
                Tensors.copyInto(w, rounded);
            }
            case STOCHASTIC -> throw new UnsupportedOperationException("stochastic rounding has no composed form: "
                    + "it needs the extension's kernel for this device (bf16_update: kahan has one)");
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
