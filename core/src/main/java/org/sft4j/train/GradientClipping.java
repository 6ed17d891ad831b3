package org.sft4j.train;

import ai.djl.ndarray.NDArray;
import org.sft4j.model.Parameter;
import org.sft4j.nd.Tensors;

import java.util.List;

/** {@code torch.nn.utils.clip_grad_norm_}: one global L2 norm over all gradients, scaled down when above the limit. */
public final class GradientClipping {

    private GradientClipping() {}

    /** Returns the norm before clipping (a host sync); clips in place when {@code maxNorm > 0}. */
    public static double clip(List<Parameter> params, double maxNorm) {
        double sumSq = 0;
        boolean was = Tensors.gradMode(false);
        try (ai.djl.ndarray.NDScope scope = new ai.djl.ndarray.NDScope()) {
            for (Parameter p : params) {
                NDArray g = Tensors.gradOrNull(p.array());
                if (g != null) {
                    try (NDArray norm = g.norm()) {   // per-tensor norms, then the norm of norms, as torch does
                        double n = Tensors.scalar(norm);
                        sumSq += n * n;
                    }
                    g.close();
                }
            }
            double total = Math.sqrt(sumSq);
            double coef = maxNorm / (total + 1e-6);
            if (maxNorm > 0 && coef < 1.0) {
                for (Parameter p : params) {
                    NDArray g = Tensors.gradOrNull(p.array());
                    if (g != null) {
                        g.muli(coef);   // the gradient handle is a view of p.grad
                        g.close();
                    }
                }
            }
            return total;
        } finally {
            Tensors.gradMode(was);
        }
    }
}
