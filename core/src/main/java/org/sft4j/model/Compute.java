package org.sft4j.model;

import org.sft4j.nd.NativeOps;

/**
 * How a {@link Decoder} computes. Weights and activations stay fp32 in every mode (fp32 master weights);
 * with {@code bf16} the matrix products and attention take bf16 copies of their inputs, cast by the native
 * extension so gradients flow back into the fp32 tensors.
 *
 * @param fused the native extension's fused kernels (scaled-dot-product attention, RMSNorm, SwiGLU) instead
 *     of the same operations composed of DJL ones
 * @param bf16 bf16 matrix products and attention (native extension)
 */
public record Compute(boolean fused, boolean bf16) {

    public Compute {
        if ((fused || bf16) && !NativeOps.available()) {
            throw new IllegalStateException("fused attention and bf16 need sft4j's native extension (native/build.sh, "
                    + "then SFT4J_NATIVE or SFT4J_ROOT); it is not loaded");
        }
    }

    /** DJL's portable fp32 operations only. */
    public static Compute portable() {
        return new Compute(false, false);
    }

    /** The default: fused kernels when the native extension is loaded, fp32 products. */
    public static Compute auto() {
        return new Compute(NativeOps.available(), false);
    }

    /** bf16 products when asked for and possible; {@code null} when asked for but impossible. */
    public static Compute withBf16(boolean bf16) {
        if (!bf16) {
            return auto();
        }
        return NativeOps.available() ? new Compute(true, true) : null;
    }
}
