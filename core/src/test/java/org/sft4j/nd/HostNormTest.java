package org.sft4j.nd;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Gradient clipping over large fp32 host tensors (an offloaded optimizer's gradients) beside small ones: the norm of
 * a double-precision sum, and every element scaled by the clipping coefficient.
 */
class HostNormTest {

    @Test
    void largeHostGradientsAreNormedAndClippedAsTorchDoes() {
        assumeTrue(NativeOps.available(), "the native extension");
        Random rnd = new Random(5);
        float[] big = new float[(1 << 22) + 12_345];   // above the threshold, not a multiple of any chunk
        float[] small = new float[1000];
        double sq = 0;
        for (int i = 0; i < big.length; i++) {
            big[i] = (float) (rnd.nextGaussian() * 0.1);   // the large tensor carries most of the norm
            sq += (double) big[i] * big[i];
        }
        for (int i = 0; i < small.length; i++) {
            small[i] = (float) rnd.nextGaussian();
            sq += (double) small[i] * small[i];
        }
        double norm = Math.sqrt(sq);
        try (NDManager m = Engines.newManager(ai.djl.Device.cpu())) {
            NDArray a = m.create(big, new Shape(big.length));
            NDArray b = m.create(small, new Shape(small.length));
            double total = Tensors.scalar(NativeOps.clipGradNorm(List.of(a, b), norm / 4, m));
            assertEquals(norm, total, 1e-6 * norm);
            double coef = (norm / 4) / (total + 1e-6);
            float[] scaled = a.toFloatArray();
            for (int i = 0; i < big.length; i += 9973) {
                assertEquals(big[i] * coef, scaled[i], 1e-6 * Math.abs(big[i]) + 1e-12, "element " + i);
            }
            assertEquals(small[7] * coef, b.toFloatArray()[7], 1e-6 * Math.abs(small[7]));
        }
    }
}
