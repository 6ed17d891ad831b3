package org.sft4j.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import org.sft4j.model.Parameter;
import org.sft4j.nd.NativeOps;
import org.sft4j.nd.Tensors;

import java.util.ArrayList;
import java.util.List;

/** {@code torch.nn.utils.clip_grad_norm_}: one global L2 norm over all gradients, scaled down when above the limit. */
public final class GradientClipping {

    private GradientClipping() {}

    /** Returns the norm before clipping (one host sync); clips in place when {@code maxNorm > 0}. */
    public static double clip(List<Parameter> params, double maxNorm) {
        return clip(params, maxNorm, 1);
    }

    /**
     * As {@link #clip(List, double)}, first dividing the gradients by {@code lossScale} (fp16: they were computed
     * from a scaled loss), as {@code GradScaler.unscale_} before {@code clip_grad_norm_}. A non-finite norm means
     * some gradient overflowed.
     */
    public static double clip(List<Parameter> params, double maxNorm, double lossScale) {
        boolean was = Tensors.gradMode(false);
        try (ai.djl.ndarray.NDScope scope = new ai.djl.ndarray.NDScope()) {
            List<NDArray> grads = new ArrayList<>();
            for (Parameter p : params) {
                NDArray g = Tensors.gradOrNull(p.array());
                if (g != null) {
                    grads.add(g);
                }
            }
            if (grads.isEmpty()) {
                return 0;
            }
            NDManager owner = grads.get(0).getManager();
            if (lossScale != 1) {
                unscale(grads, 1.0 / lossScale);
            }
            if (NativeOps.available()) {
                // torch's foreach kernels: a handful of launches, no sync until the norm is read
                return Tensors.scalar(NativeOps.clipGradNorm(grads, maxNorm, owner));
            }
            // per-tensor norms, then the norm of norms, as torch does; read once
            NDList norms = new NDList();
            grads.forEach(g -> norms.add(g.norm()));
            double total = Tensors.scalar(NDArrays.stack(norms).norm());
            double coef = maxNorm / (total + 1e-6);
            if (maxNorm > 0 && coef < 1.0) {
                grads.forEach(g -> g.muli(coef));   // each gradient handle is a view of p.grad
            }
            return total;
        } finally {
            Tensors.gradMode(was);
        }
    }

    private static void unscale(List<NDArray> grads, double factor) {
        if (NativeOps.available()) {
            NativeOps.mulAll(grads, factor);
        } else {
            grads.forEach(g -> g.muli(factor));
        }
    }
}
