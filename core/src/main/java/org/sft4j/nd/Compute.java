package org.sft4j.nd;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;

/**
 * How a model computes: every tensor operation whose implementation depends on the native extension or on the
 * precision. It is chosen once, when a model is loaded for a run ({@code Decoder.load(dir, device, precision)}), and
 * held by the layers, the loss, the optimizer and clipping, which call these operations and never ask which
 * implementation they hold.
 *
 * <ul>
 *   <li>{@link #portable()}: DJL's operations composed, in fp32 (the reference; any machine);</li>
 *   <li>{@link #fused(Precision)}: sft4j's native extension (fused attention, RMSNorm, SwiGLU, RoPE, cross-entropy,
 *       clipping, AdamW) at one {@link Precision}.</li>
 * </ul>
 *
 * <p>Shapes: B batch rows, T tokens, H heads, D head size, C model width, V vocabulary. Activations are the first
 * operand of every operation, so results belong to the step's manager (see {@link StepScope}).
 *
 * <p>A model family's own operations (Gemma's GeGLU and {@code (1 + w)} RMSNorm, logit and attention soft-capping,
 * Phi-3's partial rotary embedding) are methods here with a portable and a native body.
 */
public interface Compute {

    /** DJL's operations composed, in fp32: the reference path, and the only one without the native extension. */
    static Compute portable() {
        return PortableCompute.INSTANCE;
    }

    /** The native extension's kernels at {@code precision}; a {@link org.sft4j.base.UserError} when it is not loaded. */
    static Compute fused(Precision precision) {
        if (!NativeOps.available()) {
            throw new org.sft4j.base.UserError("fused kernels and 16-bit precisions need sft4j's native extension "
                    + "(native/build.sh, then SFT4J_NATIVE or SFT4J_ROOT); it is not loaded");
        }
        return NativeCompute.of(precision);
    }

    /**
     * What a run asks for: the native kernels at {@code precision} where the extension is loaded; otherwise the
     * portable path, which trains a 16-bit precision in fp32 after one warning (a LLaMA-Factory YAML often says
     * {@code bf16: true}; on a machine without the extension it still trains).
     */
    static Compute forPrecision(Precision precision) {
        if (NativeOps.available()) {
            return NativeCompute.of(precision);
        }
        if (precision != Precision.FP32) {
            LoggerFactory.getLogger(Compute.class).warn(precision + " needs sft4j's native extension (native/build.sh), which is not loaded; "
                    + "training in fp32");
        }
        return portable();
    }

    /** Every strategy this machine can run: the portable one, and the native one at each precision when loaded. */
    static List<Compute> offered() {
        List<Compute> all = new ArrayList<>(List.of(portable()));
        if (NativeOps.available()) {
            for (Precision p : Precision.values()) {
                all.add(NativeCompute.of(p));
            }
        }
        return all;
    }

    /** Lets fp32 matrix products use TF32 tensor cores (off by default, as in PyTorch); no effect on the portable path. */
    static void allowTf32(boolean on) {
        if (NativeOps.available()) {
            NativeOps.allowTf32(on);
        }
    }

    /** The precision this strategy trains in (portable: fp32). */
    Precision precision();

    /** One line for logs and benchmarks, e.g. {@code native, bf16-mixed (extension built on torch 2.11.0)}. */
    String describe();

    // ---- weights ------------------------------------------------------------------------------------------------

    /**
     * The type a base weight is stored in: bf16 under {@link Precision#BF16_TRUE}; under a mixed precision, a frozen
     * matrix (a projection or the LM head under LoRA) in the product type, since nothing updates it and a product
     * would cast it anyway; fp32 otherwise. Loaders read checkpoints straight into it.
     *
     * @param frozenMatrix a projection or LM head weight that no optimizer updates
     */
    DataType weightType(boolean frozenMatrix);

    /**
     * {@code loaded} as this strategy stores a base weight ({@link #weightType}): the array itself when it already
     * has that type, else a converted copy owned by {@code loaded}'s manager (the caller closes {@code loaded}).
     */
    default NDArray weight(NDArray loaded, boolean frozenMatrix) {
        DataType t = weightType(frozenMatrix);
        if (DataTypes.of(loaded) == t) {
            return loaded;
        }
        boolean was = Tensors.gradMode(false);   // a leaf of its own, not a node of the loaded array's graph
        try {
            return DataTypes.cast(loaded, t);
        } finally {
            Tensors.gradMode(was);
        }
    }

    /** {@link #weight(NDArray, boolean)} of a trainable weight. */
    default NDArray weight(NDArray loaded) {
        return weight(loaded, false);
    }

    // ---- layers -------------------------------------------------------------------------------------------------

    /** {@code x W^T + b} (W [out, in] as in HF, b may be null), the result in the activations' type. */
    NDArray linear(NDArray x, NDArray w, NDArray b);

    /**
     * As {@link #linear}, but under mixed precision the result stays in the 16-bit product type, as autocast leaves
     * it: for a consumer that needs no fp32 copy, because it feeds another product or attention (cast to 16 bits
     * anyway), runs elementwise (SwiGLU), or is added into the fp32 residual stream (the add widens it exactly, and
     * its gradient narrows as the cast's backward did).
     */
    NDArray linearInProductType(NDArray x, NDArray w, NDArray b);

    /**
     * {@link #linearInProductType}'s graph for a backward, its values not necessarily computed: what a checkpointed
     * layer's recompute uses for a product nothing reads but backward (the down projection before the residual add),
     * skipping that GEMM. The native path skips it; the portable one computes it.
     */
    default NDArray linearGraphOnly(NDArray x, NDArray w, NDArray b) {
        return linearInProductType(x, w, b);
    }

    /** {@code silu(gate) * up}, Llama's SwiGLU. */
    NDArray siluMul(NDArray gate, NDArray up);

    /** {@code gelu_tanh(gate) * up}, Gemma's GeGLU (GELU with the tanh approximation, as {@code gelu_pytorch_tanh}). */
    NDArray geluTanhMul(NDArray gate, NDArray up);

    /** RMSNorm over the last dimension: {@code x / sqrt(mean(x^2) + eps) * weight}, as LlamaRMSNorm computes it. */
    NDArray rmsNorm(NDArray x, NDArray weight, double eps);

    /**
     * Gemma's RMSNorm over the last dimension: {@code x / sqrt(mean(x^2) + eps) * (1 + weight)}, computed in fp32 and
     * returned in x's type, as Gemma3RMSNorm does.
     */
    NDArray rmsNormPlusOne(NDArray x, NDArray weight, double eps);

    /**
     * Rotary embedding {@code x * cos + rotate_half(x) * sin} of the first R dimensions of each head, the rest passed
     * through (R &lt; D: Phi-3's partial rotary factor); x (B, T, H, D), cos and signedSin (B, T, 1, R). signedSin is
     * sin with its first half negated, rotate_half's sign, so this computes {@code x * cos + swapHalves(x) * signedSin}.
     */
    NDArray rope(NDArray x, NDArray cos, NDArray signedSin);

    /** {@code cap * tanh(x / cap)}: Gemma's logit soft-capping, in x's type. */
    NDArray softcap(NDArray x, double cap);

    /** A constant table (RoPE's cos and sin) in the activations' type, made once per model. */
    NDArray activations(NDArray fp32);

    /** Whether {@link #attention} takes a null mask to mean plain causal attention (no mask tensor built). */
    boolean implicitCausalMask();

    /**
     * Scaled dot-product attention: q (B, H, T, D), k and v (B, H / kvGroups, S, D) -> (B, H, T, D), the result in
     * attention's own type (16 bits under mixed precision: the output projection takes it as it is).
     *
     * @param mask additive (B, 1, T, S), or null for plain causal attention (only when {@link #implicitCausalMask()})
     * @param kvGroups query heads per key/value head (grouped-query attention)
     */
    NDArray attention(NDArray q, NDArray k, NDArray v, NDArray mask, double scale, int kvGroups);

    /**
     * As {@link #attention}, with Gemma 2's soft-capping of the scaled scores ({@code cap * tanh(s / cap)}) before the
     * mask is added, as transformers' eager attention does; the mask is never null here.
     */
    NDArray softcappedAttention(NDArray q, NDArray k, NDArray v, NDArray mask, double scale, int kvGroups, double cap);

    /**
     * {@code x} as a matrix product reads it: a 16-bit copy under a mixed precision, else x itself. A projection with
     * an adapter casts its input once with this and hands the result to both products, so autograd keeps one copy.
     */
    NDArray productInput(NDArray x);

    /**
     * {@code x W^T} for an adapter's weight W (LoRA's A or B, kept fp32): computed in the activations' 16-bit type
     * with W cast per operation, as autocast does, so the adapter keeps no fp32 copy of its input for backward (the
     * input it saves is the one the base product saved already); the result stays in that 16-bit type, as autocast's
     * is. Added to a base product in fp32 (a mixed precision's) the sum is fp32; added to one kept 16-bit for SwiGLU
     * it stays 16-bit, so SwiGLU keeps 16-bit inputs as without adapters.
     */
    NDArray adapterLinear(NDArray x, NDArray w);

    /**
     * The LM head as a function of hidden rows (N, C) -> logits (N, V): fp32 logits, or bf16 under
     * {@link Precision#BF16_TRUE} (the loss upcasts them, as transformers does). Any 16-bit copy of the weight is made
     * here, once: call this once per step and apply the function to every chunk.
     */
    UnaryOperator<NDArray> head(NDArray weight);

    /** {@code x} as fp32 (the array itself when it is); differentiable on the native path. */
    NDArray float32(NDArray x);

    // ---- loss ---------------------------------------------------------------------------------------------------

    /** Summed cross-entropy, computed in fp32, of logits (N, V) in any float type against int64 targets (N). */
    NDArray crossEntropySum(NDArray logits, NDArray targets);

    // ---- gradients and optimizer --------------------------------------------------------------------------------

    /**
     * {@code torch.nn.utils.clip_grad_norm_} after {@code GradScaler.unscale_}: divides the gradients of
     * {@code params} by {@code lossScale}, takes their global L2 norm and, when {@code maxNorm > 0} and the norm
     * exceeds it, scales them down to it. Returns the norm before clipping (one host sync); non-finite when some
     * gradient overflowed. Parameters without a gradient are skipped.
     */
    double clipGradients(List<NDArray> params, double maxNorm, double lossScale);

    /** Zeroes the gradients of {@code params} in place (their memory stays: data parallel reduces views of it). */
    default void zeroGradients(List<NDArray> params) {
        for (NDArray p : params) {
            Tensors.zeroGrad(p);
        }
    }

    /**
     * Frees the gradients of {@code params} after an update, as {@code zero_grad(set_to_none=True)} (transformers'
     * default): the next forward runs without a model's worth of gradient memory held, and backward allocates each
     * gradient as it reaches it. Zeroes them where they cannot be freed (the portable path).
     */
    default void releaseGradients(List<NDArray> params) {
        zeroGradients(params);
    }

    /** Zeros shaped like {@code param} in the type AdamW keeps its moments in (fp32; bf16 for bf16 weights, as torch). */
    NDArray moment(NDArray param);

    /**
     * Zeros shaped and typed like {@code param}: a Kahan compensation buffer of a bf16 weight (see {@link Bf16Update}),
     * owned by the caller.
     */
    default NDArray compensation(NDArray param) {
        return DataTypes.zerosLike(param);
    }

    /**
     * One AdamW update with {@code torch.optim.AdamW}'s semantics, step {@code step} (1-based, for bias correction),
     * of every parameter that has a gradient; m and v are its first and second moments, updated in place. bf16
     * weights are rounded to nearest (see {@link #adamW(List, List, List, List, List, AdamWStep)} for the others).
     */
    default void adamW(List<NDArray> params, List<NDArray> m, List<NDArray> v, int step, double lr, double beta1,
                       double beta2, double weightDecay, double eps) {
        boolean was = Tensors.gradMode(false);
        try (ai.djl.ndarray.NDScope scope = new ai.djl.ndarray.NDScope()) {   // frees the gradient handles
            List<NDArray> ws = new ArrayList<>();
            List<NDArray> gs = new ArrayList<>();
            List<NDArray> ms = new ArrayList<>();
            List<NDArray> vs = new ArrayList<>();
            for (int i = 0; i < params.size(); i++) {
                NDArray g = Tensors.gradOrNull(params.get(i));
                if (g != null) {
                    ws.add(params.get(i));
                    gs.add(g);
                    ms.add(m.get(i));
                    vs.add(v.get(i));
                }
            }
            adamW(ws, gs, ms, vs, List.of(), new AdamWStep(step, lr, beta1, beta2, weightDecay, eps, Bf16Update.NEAREST, 0));
        } finally {
            Tensors.gradMode(was);
        }
    }

    /**
     * One AdamW update of {@code params} by {@code grads} (a parameter's own gradient, or a flat shard of it and of its
     * weight), with m and v its moments, updated in place: a function of these tensors only, so it applies to whole
     * weights and to shards alike. {@code compensation} holds one Kahan buffer per parameter when
     * {@code step.bf16()} is {@link Bf16Update#KAHAN} (null for a weight that is not bf16), and may be empty otherwise.
     * The gradients are multiplied by {@code step.gradCoef()} first, and may be left so.
     */
    void adamW(List<NDArray> params, List<NDArray> grads, List<NDArray> m, List<NDArray> v, List<NDArray> compensation,
               AdamWStep step);
}
