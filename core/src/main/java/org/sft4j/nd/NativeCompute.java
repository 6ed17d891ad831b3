package org.sft4j.nd;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.UnaryOperator;

import static org.sft4j.nd.NativeOps.BFLOAT16;
import static org.sft4j.nd.NativeOps.FLOAT16;
import static org.sft4j.nd.NativeOps.FLOAT32;
import static org.sft4j.nd.NativeOps.KEEP;

/**
 * {@link Compute} through the native extension's kernels. A precision is nothing but the types each role casts to
 * (NativeOps dtype codes, {@link NativeOps#KEEP} for no cast), which the extension applies inside the same call:
 * <pre>
 *               productIn  productOut  attentionIn  adapterIn  stored
 *   fp32        -          -           -            -          -
 *   bf16-mixed  bf16       fp32        bf16         bf16       -
 *   fp16-mixed  fp16       fp32        fp16         fp16       -
 *   bf16-true   -          -           bf16 (mask)  bf16       bf16
 * </pre>
 * productIn: x, W, b of a matrix product; productOut: the result of {@link #linear} (the rest stay in the product
 * type: {@link #linearInProductType}, and attention's result in attentionIn's); attentionIn: q, k, v and the mask;
 * adapterIn: the type a LoRA adapter's products run in and return (its fp32 weights cast per product); stored: base
 * weights and constant tables. The casts keep autograd, so gradients reach the fp32 weights of the mixed precisions and
 * the adapters.
 */
record NativeCompute(Precision precision, int productIn, int productOut, int attentionIn, int adapterIn, int stored)
        implements Compute {

    private static final Logger LOG = LoggerFactory.getLogger(NativeCompute.class);

    static NativeCompute of(Precision p) {
        return switch (p) {
            case FP32 -> new NativeCompute(p, KEEP, KEEP, KEEP, KEEP, KEEP);
            case BF16_MIXED -> new NativeCompute(p, BFLOAT16, FLOAT32, BFLOAT16, BFLOAT16, KEEP);
            case FP16_MIXED -> new NativeCompute(p, FLOAT16, FLOAT32, FLOAT16, FLOAT16, KEEP);
            case BF16_TRUE -> new NativeCompute(p, KEEP, KEEP, BFLOAT16, BFLOAT16, BFLOAT16);
        };
    }

    @Override
    public String describe() {
        return "native, " + precision + " (extension built on torch " + NativeOps.version() + ")";
    }

    @Override
    public String toString() {
        return describe();
    }

    @Override
    public DataType weightType(boolean frozenMatrix) {
        int code = stored != KEEP ? stored : frozenMatrix ? productIn : KEEP;
        return switch (code) {
            case BFLOAT16 -> DataType.BFLOAT16;
            case FLOAT16 -> DataType.FLOAT16;
            default -> DataType.FLOAT32;
        };
    }

    @Override
    public NDArray linear(NDArray x, NDArray w, NDArray b) {
        return NativeOps.linear(x, w, b, productIn, productOut);
    }

    @Override
    public NDArray linearInProductType(NDArray x, NDArray w, NDArray b) {
        return NativeOps.linear(x, w, b, productIn, KEEP);
    }

    @Override
    public NDArray linearGraphOnly(NDArray x, NDArray w, NDArray b) {
        return NativeOps.linearGraphOnly(x, w, b, productIn, KEEP);
    }

    @Override
    public NDArray siluMul(NDArray gate, NDArray up) {
        return NativeOps.siluMul(gate, up);
    }

    @Override
    public NDArray geluTanhMul(NDArray gate, NDArray up) {
        return NativeOps.geluTanhMul(gate, up);
    }

    @Override
    public NDArray rmsNorm(NDArray x, NDArray weight, double eps) {
        return NativeOps.rmsNorm(x, weight, eps);
    }

    @Override
    public NDArray rmsNormPlusOne(NDArray x, NDArray weight, double eps) {
        return NativeOps.rmsNormPlusOne(x, weight, eps);
    }

    @Override
    public NDArray softcap(NDArray x, double cap) {
        return NativeOps.softcap(x, cap);
    }

    @Override
    public NDArray rope(NDArray x, NDArray cos, NDArray signedSin) {
        return NativeOps.rope(x, cos, signedSin);
    }

    @Override
    public NDArray activations(NDArray fp32) {
        return cast(fp32, stored);
    }

    @Override
    public boolean implicitCausalMask() {
        return true;   // the fused kernels' own causal masking
    }

    @Override
    public NDArray attention(NDArray q, NDArray k, NDArray v, NDArray mask, double scale, int kvGroups) {
        return NativeOps.attention(q, k, v, mask, mask == null, scale, kvGroups > 1, attentionIn, KEEP);
    }

    @Override
    public NDArray softcappedAttention(NDArray q, NDArray k, NDArray v, NDArray mask, double scale, int kvGroups,
                                       double cap) {
        return NativeOps.softcappedAttention(q, k, v, mask, scale, kvGroups, cap, attentionIn, KEEP);
    }

    @Override
    public NDArray productInput(NDArray x) {
        return cast(x, productIn);
    }

    @Override
    public NDArray adapterLinear(NDArray x, NDArray w) {
        return NativeOps.linear(x, w, null, adapterIn, KEEP);
    }

    @Override
    public UnaryOperator<NDArray> head(NDArray weight) {
        NDArray w = cast(weight, productIn);
        return h -> NativeOps.linear(h, w, null, productIn, productOut);
    }

    @Override
    public NDArray float32(NDArray x) {
        return x.getDataType() == DataType.FLOAT32 ? x : NativeOps.cast(x, FLOAT32);
    }

    @Override
    public NDArray crossEntropySum(NDArray logits, NDArray targets) {
        return NativeOps.crossEntropySum(logits, targets, -100);
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
                NativeOps.mulAll(grads, 1.0 / lossScale);
            }
            // torch's foreach kernels: a handful of launches, no sync until the norm is read
            return Tensors.scalar(NativeOps.clipGradNorm(grads, maxNorm, grads.get(0).getManager()));
        } finally {
            Tensors.gradMode(was);
        }
    }

    @Override
    public NDArray moment(NDArray param) {
        return NativeOps.zerosLike(param);
    }

    @Override
    public void releaseGradients(List<NDArray> params) {
        if (!NativeOps.dropGradients(params)) {
            zeroGradients(params);
        }
    }

    /**
     * PyTorch's fused AdamW kernel (one launch for the group instead of ~10 per parameter), except for bf16 weights
     * under Kahan summation or stochastic rounding: the extension's own kernel (native/src/adamw_bf16.h).
     */
    @Override
    public void adamW(List<NDArray> params, List<NDArray> grads, List<NDArray> m, List<NDArray> v,
                      List<NDArray> compensation, AdamWStep step) {
        List<Integer> torch = new ArrayList<>();
        List<Integer> own = new ArrayList<>();
        for (int i = 0; i < params.size(); i++) {
            boolean rounded = step.bf16() != Bf16Update.NEAREST && DataTypes.of(params.get(i)) == DataType.BFLOAT16;
            (rounded ? own : torch).add(i);
        }
        if (!torch.isEmpty()) {
            try (NDScope scope = new NDScope()) {
                NDArray stepTensor = params.get(0).getManager().create((float) step.step());
                NativeOps.fusedAdamW(pick(params, torch), pick(grads, torch), pick(m, torch), pick(v, torch), stepTensor,
                        step.lr(), step.beta1(), step.beta2(), step.weightDecay(), step.eps(), step.gradCoef());
            }
        }
        if (!own.isEmpty()) {
            if (step.gradCoef() != 1) {
                NativeOps.mulAll(pick(grads, own), step.gradCoef());
            }
            warnWithoutKernel(params.get(own.get(0)));
            NativeOps.adamWBf16(pick(params, own), pick(grads, own), pick(m, own), pick(v, own),
                    step.bf16() == Bf16Update.KAHAN ? pick(compensation, own) : List.of(), step);
        }
    }

    /** GPUs already asked whether NVRTC built the bf16 AdamW kernel for them. */
    private static final Set<Integer> KERNEL_CHECKED = ConcurrentHashMap.newKeySet();

    /** Says once per GPU when its bf16 updates run as the (much slower) composed operations, and why. */
    private static void warnWithoutKernel(NDArray weight) {
        if (!weight.getDevice().isGpu() || !KERNEL_CHECKED.add(weight.getDevice().getDeviceId())) {
            return;
        }
        String how = NativeOps.cudaKernel(weight.getDevice().getDeviceId());
        if (how.startsWith("not available")) {
            LOG.warn("bf16 AdamW on {} runs as composed torch operations, about 17x slower than sft4j's kernel, "
                    + "which is {}", weight.getDevice(), how);
        }
    }

    private static List<NDArray> pick(List<NDArray> xs, List<Integer> at) {
        return at.stream().map(xs::get).toList();
    }

    private static NDArray cast(NDArray x, int dtype) {
        return dtype == KEEP ? x : NativeOps.cast(x, dtype);
    }
}
