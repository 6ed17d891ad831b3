package org.sft4j.model;

import org.sft4j.nd.NativeOps;

/**
 * How a {@link Decoder} computes.
 * <ul>
 *   <li>portable: DJL's fp32 operations only;</li>
 *   <li>fused: the native extension's kernels (scaled-dot-product attention, RMSNorm, SwiGLU, RoPE, cross-entropy);</li>
 *   <li>bf16 or fp16 (mixed, as torch's autocast): fp32 master weights and activations; matrix products and
 *       attention take 16-bit copies, cast by the extension so gradients flow back into the fp32 tensors. fp16's
 *       narrow range needs loss scaling, which the trainer adds;</li>
 *   <li>pure bf16: weights, gradients, optimizer moments and activations all bf16 (LLaMA-Factory's
 *       {@code pure_bf16}, transformers' {@code dtype=bfloat16}); LoRA adapters stay fp32, as PEFT keeps them.</li>
 * </ul>
 *
 * @param fused the native extension's fused kernels instead of the same operations composed of DJL ones
 * @param precision where 16-bit types are used
 */
public record Compute(boolean fused, Precision precision) {

    /** Where 16-bit types are used. */
    public enum Precision {
        /** fp32 throughout. */
        FP32,
        /** bf16 products and attention over fp32 weights. */
        BF16,
        /** fp16 products and attention over fp32 weights (needs loss scaling). */
        FP16,
        /** bf16 weights and activations end to end. */
        PURE_BF16
    }

    public Compute {
        if ((fused || precision != Precision.FP32) && !NativeOps.available()) {
            throw new IllegalStateException("fused attention, bf16 and fp16 need sft4j's native extension (native/build.sh, "
                    + "then SFT4J_NATIVE or SFT4J_ROOT); it is not loaded");
        }
        if (precision != Precision.FP32 && !fused) {
            throw new IllegalArgumentException(precision + " compute implies the fused kernels");
        }
    }

    /** fp32, or bf16 products over fp32 weights. */
    public Compute(boolean fused, boolean bf16) {
        this(fused, bf16 ? Precision.BF16 : Precision.FP32);
    }

    /** DJL's portable fp32 operations only. */
    public static Compute portable() {
        return new Compute(false, Precision.FP32);
    }

    /** The default: fused kernels when the native extension is loaded, fp32 products. */
    public static Compute auto() {
        return new Compute(NativeOps.available(), Precision.FP32);
    }

    /** bf16 weights and activations throughout. */
    public static Compute pure() {
        return new Compute(true, Precision.PURE_BF16);
    }

    /** fp16 products over fp32 weights. */
    public static Compute fp16() {
        return new Compute(true, Precision.FP16);
    }

    /**
     * What a training configuration asks for ({@code bf16}, {@code pure_bf16}, {@code fp16}; at most one is set);
     * {@code null} when a 16-bit type is asked for but the native extension is not loaded.
     */
    public static Compute forTraining(boolean bf16, boolean pureBf16, boolean fp16) {
        if (!bf16 && !pureBf16 && !fp16) {
            return auto();
        }
        if (!NativeOps.available()) {
            return null;
        }
        return pureBf16 ? pure() : fp16 ? fp16() : new Compute(true, Precision.BF16);
    }

    /** Whether matrix products and attention run in a 16-bit type. */
    public boolean halfProducts() {
        return precision != Precision.FP32;
    }

    /** Whether the weights themselves are bf16. */
    public boolean pureBf16() {
        return precision == Precision.PURE_BF16;
    }

    /** Whether gradients need loss scaling (fp16's range). */
    public boolean needsLossScaling() {
        return precision == Precision.FP16;
    }

    /** The 16-bit type of products and attention, as a {@link NativeOps} dtype code. */
    public int halfType() {
        return precision == Precision.FP16 ? NativeOps.FLOAT16 : NativeOps.BFLOAT16;
    }
}
