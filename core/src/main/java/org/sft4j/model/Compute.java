package org.sft4j.model;

import org.sft4j.nd.NativeOps;

/**
 * How a {@link Decoder} computes.
 * <ul>
 *   <li>portable: DJL's fp32 operations only;</li>
 *   <li>fused: the native extension's kernels (scaled-dot-product attention, RMSNorm, SwiGLU, RoPE, cross-entropy);</li>
 *   <li>bf16 (mixed): fp32 master weights and activations; matrix products and attention take bf16 copies, cast
 *       by the extension so gradients flow back into the fp32 tensors;</li>
 *   <li>pure bf16: weights, gradients, optimizer moments and activations all bf16 (LLaMA-Factory's
 *       {@code pure_bf16}, transformers' {@code dtype=bfloat16}); LoRA adapters stay fp32, as PEFT keeps them.</li>
 * </ul>
 *
 * @param fused the native extension's fused kernels instead of the same operations composed of DJL ones
 * @param bf16 bf16 matrix products and attention (native extension)
 * @param pureBf16 bf16 weights and activations end to end (implies {@code fused} and {@code bf16})
 */
public record Compute(boolean fused, boolean bf16, boolean pureBf16) {

    public Compute {
        if ((fused || bf16 || pureBf16) && !NativeOps.available()) {
            throw new IllegalStateException("fused attention and bf16 need sft4j's native extension (native/build.sh, "
                    + "then SFT4J_NATIVE or SFT4J_ROOT); it is not loaded");
        }
        if (pureBf16 && !(fused && bf16)) {
            throw new IllegalArgumentException("pure bf16 implies fused kernels and bf16 products");
        }
    }

    public Compute(boolean fused, boolean bf16) {
        this(fused, bf16, false);
    }

    /** DJL's portable fp32 operations only. */
    public static Compute portable() {
        return new Compute(false, false);
    }

    /** The default: fused kernels when the native extension is loaded, fp32 products. */
    public static Compute auto() {
        return new Compute(NativeOps.available(), false);
    }

    /** bf16 weights and activations throughout. */
    public static Compute pure() {
        return new Compute(true, true, true);
    }

    /** bf16 products when asked for and possible; {@code null} when asked for but impossible. */
    public static Compute withBf16(boolean bf16) {
        return withBf16(bf16, false);
    }

    /** As {@link #withBf16(boolean)}, pure bf16 when {@code pure}; {@code null} when asked for but impossible. */
    public static Compute withBf16(boolean bf16, boolean pure) {
        if (!bf16 && !pure) {
            return auto();
        }
        if (!NativeOps.available()) {
            return null;
        }
        return pure ? pure() : new Compute(true, true);
    }
}
