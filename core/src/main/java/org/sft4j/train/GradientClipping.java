package org.sft4j.train;

import org.sft4j.model.Parameter;
import org.sft4j.nd.Compute;

import java.util.List;

/** {@code torch.nn.utils.clip_grad_norm_}: one global L2 norm over all gradients, scaled down when above the limit. */
public final class GradientClipping {

    private GradientClipping() {}

    /** Returns the norm before clipping (one host sync); clips in place when {@code maxNorm > 0}. */
    public static double clip(Compute compute, List<Parameter> params, double maxNorm) {
        return clip(compute, params, maxNorm, 1);
    }

    /**
     * As {@link #clip(Compute, List, double)}, first dividing the gradients by {@code lossScale} (fp16: they were
     * computed from a scaled loss), as {@code GradScaler.unscale_} before {@code clip_grad_norm_}. A non-finite norm
     * means some gradient overflowed.
     */
    public static double clip(Compute compute, List<Parameter> params, double maxNorm, double lossScale) {
        return compute.clipGradients(params.stream().map(Parameter::array).toList(), maxNorm, lossScale);
    }
}
