package org.sft4j.nd;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import org.junit.jupiter.api.Test;
import org.sft4j.base.UserError;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * How a bf16 weight takes an AdamW update (native/src/adamw_bf16.h and its composed twin in PortableCompute).
 * A constant gradient makes Adam's step exactly lr per step (m / sqrt(v) = sign(g) once bias-corrected), so the fp32
 * trajectory of a weight starting at 1.0 is 1 - k lr, while bf16's resolution at 1.0 is 2^-7 (half a step: 0.0039).
 */
class Bf16UpdateTest {

    private static final double LR = 1e-4;    // 39x under half a bf16 step at 1.0
    private static final int STEPS = 20;
    private static final int N = 4096;

    @Test
    void configNamesAndDefaults() {
        assertEquals(Bf16Update.KAHAN, Bf16Update.of("Kahan"));
        assertEquals(Bf16Update.STOCHASTIC, Bf16Update.of("stochastic"));
        assertEquals(Bf16Update.NEAREST, Bf16Update.of("nearest"));
        assertEquals(Bf16Update.NEAREST, Bf16Update.of("none"));
        assertEquals(Bf16Update.STOCHASTIC, Bf16Update.defaultFor(Precision.BF16_TRUE), "on wherever weights are bf16");
        assertEquals(Bf16Update.NEAREST, Bf16Update.defaultFor(Precision.BF16_MIXED), "fp32 masters need nothing");
        UserError e = assertThrows(UserError.class, () -> Bf16Update.of("exact"));
        assertEquals("bf16_update 'exact' is not one of [nearest, kahan, stochastic]", e.getMessage());
    }

    @Test
    void roundingToNearestLosesEveryStepThatKahanSummationKeeps() {
        assumeTrue(NativeOps.available(), "bf16 weights need the native extension");
        for (Compute compute : List.of(Compute.fused(Precision.BF16_TRUE), Compute.portable())) {
            try (NDManager manager = Engines.newManager(Device.cpu())) {
                State plain = run(manager, compute, Bf16Update.NEAREST, 0);
                float[] w = plain.weights();
                for (float x : w) {
                    assertEquals(1.0f, x, 0f, compute + ": round to nearest leaves a 1e-4 step at 1.0 where it was");
                }
                State kahan = run(manager, compute, Bf16Update.KAHAN, 0);
                float[] kw = kahan.weights();
                float[] kc = Tensors.toFloats(kahan.comp);
                double fp32 = 1 - STEPS * LR;   // 0.998
                for (int i = 0; i < N; i++) {
                    // the bf16 weight is the fp32 one to within half a bf16 step; weight + compensation is the fp32 one
                    assertEquals(fp32, kw[i], 0.0039 + 1e-6, compute + ": weight " + i);
                    assertEquals(fp32, kw[i] + kc[i], 0.01 * STEPS * LR, compute + ": weight + compensation " + i);
                }
                assertTrue(kw[0] < 1.0f, "the accumulated steps reached the weight: " + kw[0]);
            }
        }
    }

    @Test
    void stochasticRoundingIsRightOnAverageAndRepeatsForTheSameSeed() {
        assumeTrue(NativeOps.available(), "bf16 weights need the native extension");
        Compute compute = Compute.fused(Precision.BF16_TRUE);
        try (NDManager manager = Engines.newManager(Device.cpu())) {
            float[] w = run(manager, compute, Bf16Update.STOCHASTIC, 7).weights();
            double mean = Arrays.stream(box(w)).mapToDouble(Float::doubleValue).average().orElseThrow();
            // each weight is 1.0 or a few bf16 steps (0.0039) below; their mean is the fp32 weight
            assertEquals(1 - STEPS * LR, mean, 0.1 * STEPS * LR, "mean of " + N + " stochastically rounded weights");
            for (float x : w) {
                assertTrue(x <= 1.0f && x >= 0.98f, "within a few bf16 steps under 1.0: " + x);
            }
            assertArrayEquals(w, run(manager, compute, Bf16Update.STOCHASTIC, 7).weights(), "same seed, same rounding");
            float[] other = run(manager, compute, Bf16Update.STOCHASTIC, 8).weights();
            assertTrue(!Arrays.equals(w, other), "another seed rounds otherwise");
        }
    }

    @Test
    void theExtensionsKernelAndTheComposedOperationsAgree() {
        assumeTrue(NativeOps.available(), "bf16 weights need the native extension");
        for (Bf16Update rule : List.of(Bf16Update.KAHAN, Bf16Update.NEAREST)) {
            try (NDManager manager = Engines.newManager(Device.cpu())) {
                Random r = new Random(3);
                float[] w0 = gaussian(r, 0.02);
                float[][] grads = new float[5][];
                for (int s = 0; s < grads.length; s++) {
                    grads[s] = gaussian(r, 1e-3);
                }
                State fused = State.of(manager, w0, rule);
                State composed = State.of(manager, w0, rule);
                for (int s = 1; s <= grads.length; s++) {
                    AdamWStep step = new AdamWStep(s, 1e-3, 0.9, 0.999, 0.01, 1e-8, rule, 0);
                    fused.step(Compute.fused(Precision.BF16_TRUE), bf16(manager, grads[s - 1]), step);
                    composed.step(Compute.portable(), bf16(manager, grads[s - 1]), step);
                }
                float[] a = fused.weights();
                float[] b = composed.weights();
                int same = 0;
                for (int i = 0; i < N; i++) {
                    same += a[i] == b[i] ? 1 : 0;
                    // a moment rounded to the other bf16 neighbour moves a step by under 1%
                    assertEquals(b[i], a[i], Math.abs(b[i]) * 0.008 + 0.01 * 1e-3 * grads.length, rule + ": weight " + i);
                }
                assertTrue(same > N * 0.99, rule + ": " + same + " of " + N + " weights identical");
                if (rule == Bf16Update.KAHAN) {
                    float[] ca = Tensors.toFloats(fused.comp);
                    float[] cb = Tensors.toFloats(composed.comp);
                    for (int i = 0; i < N; i++) {
                        assertEquals(b[i] + cb[i], a[i] + ca[i], 0.01 * 1e-3 * grads.length, "weight + compensation " + i);
                    }
                }
            }
        }
    }

    /**
     * The host loop splits a large tensor over threads (from 2 x 256 K elements): every element is updated once, as
     * when the same values are updated slice by slice on one thread (nearest, Kahan), and stochastic rounding keeps
     * each element's own random bits (the composed operations, which hash the same indices, agree).
     */
    @Test
    void aLargeTensorSplitOverHostThreadsIsUpdatedAsOnOneThread() {
        assumeTrue(NativeOps.available(), "bf16 weights need the native extension");
        int n = 1 << 20;
        int slices = 8;   // 128 K each: below the threshold, one thread
        Random r = new Random(5);
        float[] w0 = new float[n];
        float[] g0 = new float[n];
        for (int i = 0; i < n; i++) {
            w0[i] = (float) (r.nextGaussian() * 0.02);
            g0[i] = (float) (r.nextGaussian() * 1e-3);
        }
        for (Bf16Update rule : List.of(Bf16Update.NEAREST, Bf16Update.KAHAN, Bf16Update.STOCHASTIC)) {
            try (NDManager manager = Engines.newManager(Device.cpu())) {
                AdamWStep step = new AdamWStep(1, 1e-3, 0.9, 0.999, 0.01, 1e-8, rule, 11);
                State whole = State.of(manager, w0, rule);
                NativeOps.adamWBf16(List.of(whole.w), List.of(bf16(manager, g0)), List.of(whole.m), List.of(whole.v),
                        rule == Bf16Update.KAHAN ? List.of(whole.comp) : List.of(), step);
                float[] a = whole.weights();
                float[] b = new float[n];
                if (rule == Bf16Update.STOCHASTIC) {
                    State composed = State.of(manager, w0, rule);
                    NativeOps.adamWBf16(List.of(composed.w), List.of(bf16(manager, g0)), List.of(composed.m),
                            List.of(composed.v), List.of(), step, true);
                    b = composed.weights();
                } else {
                    int per = n / slices;
                    for (int k = 0; k < slices; k++) {
                        State slice = State.of(manager, java.util.Arrays.copyOfRange(w0, k * per, (k + 1) * per), rule);
                        NativeOps.adamWBf16(List.of(slice.w), List.of(bf16(manager, java.util.Arrays.copyOfRange(g0,
                                k * per, (k + 1) * per))), List.of(slice.m), List.of(slice.v),
                                rule == Bf16Update.KAHAN ? List.of(slice.comp) : List.of(), step);
                        System.arraycopy(slice.weights(), 0, b, k * per, per);
                    }
                }
                int same = 0;
                for (int i = 0; i < n; i++) {
                    same += a[i] == b[i] ? 1 : 0;
                }
                double bound = rule == Bf16Update.STOCHASTIC ? 0.999 : 1.0;
                assertTrue(same >= n * bound, rule + ": " + same + " of " + n + " weights as on one thread");
            }
        }
    }

    /**
     * The host loop (vectorised, in whichever version this CPU picks) gives, bit for bit, adamw_bf16.h's scalar
     * arithmetic as written here in Java's IEEE float operations (no fused multiply-add): weights, moments and Kahan's
     * compensation, two steps, over a tensor split across threads with an odd tail, NaN and infinities included.
     */
    @Test
    void theHostLoopGivesTheScalarArithmeticsBits() {
        assumeTrue(NativeOps.available(), "bf16 weights need the native extension");
        int n = (1 << 19) + 7;
        Random r = new Random(9);
        float[][] start = new float[5][n];   // weight, moments, compensation; then the gradient
        double[] scales = {1, 1e-3, 1e-3, 1e-4, 1e-2};
        for (int k = 0; k < 5; k++) {
            for (int i = 0; i < n; i++) {
                start[k][i] = (float) (r.nextGaussian() * scales[k]);
            }
        }
        for (int i = 0; i < n; i++) {
            start[2][i] = Math.abs(start[2][i]);   // v >= 0
        }
        start[0][3] = Float.NaN;
        start[0][4] = Float.POSITIVE_INFINITY;
        start[4][5] = Float.NEGATIVE_INFINITY;
        for (Bf16Update rule : Bf16Update.values()) {
            try (NDManager manager = Engines.newManager(Device.cpu())) {
                NDArray[] t = new NDArray[5];
                int[][] expected = new int[5][];
                for (int k = 0; k < 5; k++) {
                    t[k] = bf16(manager, start[k]);
                    expected[k] = bits(t[k]);
                }
                for (int s = 0; s < 2; s++) {
                    long seed = 21 + s;
                    AdamWStep step = new AdamWStep(1, 1e-3, 0.9, 0.999, 0.01, 1e-8, rule, seed);
                    NativeOps.adamWBf16(List.of(t[0]), List.of(t[4]), List.of(t[1]), List.of(t[2]),
                            rule == Bf16Update.KAHAN ? List.of(t[3]) : List.of(), step);
                    ScalarAdamW.update(expected, step, seed * 0x100000001B3L);
                }
                String[] names = {"weight", "first moment", "second moment", "compensation"};
                for (int k = 0; k < (rule == Bf16Update.KAHAN ? 4 : 3); k++) {
                    assertArrayEquals(expected[k], bits(t[k]), rule + ": " + names[k] + " bits");
                }
            }
        }
    }

    private static int[] bits(NDArray bf16) {
        float[] f = Tensors.toFloats(bf16);
        int[] out = new int[f.length];
        for (int i = 0; i < f.length; i++) {
            out[i] = Float.floatToRawIntBits(f[i]) >>> 16;
        }
        return out;
    }

    /** adamw_bf16.h's element function, one element at a time in Java floats: the oracle of the vectorised loop. */
    private static final class ScalarAdamW {

        static void update(int[][] t, AdamWStep step, long seed) {
            float beta1 = (float) step.beta1();
            float beta2 = (float) step.beta2();
            float decay = (float) (step.lr() * step.weightDecay());
            float eps = (float) step.eps();
            float stepSize = (float) (step.lr() / (1.0 - step.beta1()));   // step 1: beta^1
            float bc2Sqrt = (float) Math.sqrt(1.0 - step.beta2());
            for (int i = 0; i < t[0].length; i++) {
                float grad = f(t[4][i]);
                float m1 = beta1 * f(t[1][i]) + (1.0f - beta1) * grad;
                float v1 = beta2 * f(t[2][i]) + (1.0f - beta2) * grad * grad;
                t[1][i] = nearest(m1);
                t[2][i] = nearest(v1);
                float adam = stepSize * m1 / ((float) Math.sqrt(v1) / bc2Sqrt + eps);
                float w = f(t[0][i]);
                if (step.bf16() == Bf16Update.KAHAN) {
                    float comp = f(t[3][i]);
                    float y = comp - decay * (w + comp) - adam;
                    int rounded = nearest(w + y);
                    t[3][i] = nearest(y - (f(rounded) - w));
                    t[0][i] = rounded;
                } else if (step.bf16() == Bf16Update.STOCHASTIC) {
                    t[0][i] = stochastic(w - decay * w - adam, random16(seed, i));
                } else {
                    t[0][i] = nearest(w - decay * w - adam);
                }
            }
        }

        static float f(int bits) {
            return Float.intBitsToFloat(bits << 16);
        }

        static int nearest(float x) {
            int u = Float.floatToRawIntBits(x);
            if ((u & 0x7fffffff) > 0x7f800000) {
                return (u >>> 16) | 0x40;
            }
            return (u + 0x7fff + ((u >>> 16) & 1)) >>> 16;
        }

        static int stochastic(float x, int random16) {
            int u = Float.floatToRawIntBits(x);
            if ((u & 0x7fffffff) > 0x7f800000) {
                return (u >>> 16) | 0x40;
            }
            if ((u & 0x7fffffff) == 0x7f800000) {
                return u >>> 16;
            }
            return (u + (random16 & 0xffff)) >>> 16;
        }

        static int random16(long seed, long index) {   // splitmix64's finaliser
            long z = seed + (index + 1) * 0x9E3779B97F4A7C15L;
            z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
            z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
            z ^= z >>> 31;
            return (int) (z >>> 48);
        }
    }

    @Test
    void aGpuWithoutTheKernelGetsTheSameUpdateFromComposedOperations() {
        assumeTrue(NativeOps.available(), "bf16 weights need the native extension");
        for (Bf16Update rule : Bf16Update.values()) {
            try (NDManager manager = Engines.newManager(Device.cpu())) {
                Random r = new Random(4);
                float[] w0 = gaussian(r, 0.02);
                State kernel = State.of(manager, w0, rule);
                State composed = State.of(manager, w0, rule);
                for (int s = 1; s <= 4; s++) {
                    NDArray g = bf16(manager, gaussian(r, 1e-3));
                    AdamWStep step = new AdamWStep(s, 1e-5, 0.9, 0.999, 0.01, 1e-8, rule, 40 + s);
                    List<NDArray> kc = rule == Bf16Update.KAHAN ? List.of(kernel.comp) : List.of();
                    List<NDArray> cc = rule == Bf16Update.KAHAN ? List.of(composed.comp) : List.of();
                    NativeOps.adamWBf16(List.of(kernel.w), List.of(g), List.of(kernel.m), List.of(kernel.v), kc, step, false);
                    NativeOps.adamWBf16(List.of(composed.w), List.of(g), List.of(composed.m), List.of(composed.v), cc, step,
                            true);
                }
                float[] a = kernel.weights();
                float[] b = composed.weights();
                int same = 0;
                for (int i = 0; i < N; i++) {
                    same += a[i] == b[i] ? 1 : 0;
                    assertEquals(b[i], a[i], Math.abs(b[i]) * 0.008 + 1e-7, rule + ": weight " + i);
                }
                // the random bits are the same hash of (seed, element) in both
                assertTrue(same > N * 0.995, rule + ": " + same + " of " + N + " weights identical");
            }
        }
    }

    @Test
    void roundingToNearestMatchesTorchsFusedAdamW() {
        assumeTrue(NativeOps.available(), "bf16 weights need the native extension");
        try (NDManager manager = Engines.newManager(Device.cpu())) {
            Random r = new Random(5);
            float[] w0 = gaussian(r, 0.5);
            State ours = State.of(manager, w0, Bf16Update.NEAREST);
            State torch = State.of(manager, w0, Bf16Update.NEAREST);
            for (int s = 1; s <= 3; s++) {
                float[] g = gaussian(r, 1.0);
                AdamWStep step = new AdamWStep(s, 1e-2, 0.9, 0.999, 0.1, 1e-8, Bf16Update.NEAREST, 0);
                NDArray grad = bf16(manager, g);
                NativeOps.adamWBf16(List.of(ours.w), List.of(grad), List.of(ours.m), List.of(ours.v), List.of(), step);
                NativeOps.fusedAdamW(List.of(torch.w), List.of(grad), List.of(torch.m), List.of(torch.v),
                        manager.create((float) s), 1e-2, 0.9, 0.999, 0.1, 1e-8, 1);
            }
            float[] a = ours.weights();
            float[] b = torch.weights();
            int same = 0;
            for (int i = 0; i < N; i++) {
                same += a[i] == b[i] ? 1 : 0;
                assertEquals(b[i], a[i], Math.abs(b[i]) * 0.008 + 0.01 * 1e-2 * 3, "weight " + i);
            }
            assertTrue(same > N * 0.99, same + " of " + N + " weights identical to torch's");
        }
    }

    /** STEPS updates of N weights at 1.0 by a constant gradient 0.5 under {@code rule}. */
    private static State run(NDManager manager, Compute compute, Bf16Update rule, long seed) {
        float[] ones = new float[N];
        Arrays.fill(ones, 1f);
        float[] half = new float[N];
        Arrays.fill(half, 0.5f);
        State s = State.of(manager, ones, rule);
        NDArray grad = bf16(manager, half);
        for (int k = 1; k <= STEPS; k++) {
            s.step(compute, grad, new AdamWStep(k, LR, 0.9, 0.999, 0, 1e-8, rule, seed * 1000 + k));
        }
        return s;
    }

    /** A bf16 weight with its moments and compensation. */
    private record State(NDArray w, NDArray m, NDArray v, NDArray comp) {
        static State of(NDManager manager, float[] values, Bf16Update rule) {
            NDArray w = bf16(manager, values);
            return new State(w, DataTypes.zerosLike(w), DataTypes.zerosLike(w), DataTypes.zerosLike(w));
        }

        void step(Compute compute, NDArray grad, AdamWStep step) {
            List<NDArray> comp = new ArrayList<>();
            comp.add(comp());
            compute.adamW(List.of(w), List.of(grad), List.of(m), List.of(v), comp, step);
        }

        float[] weights() {
            return Tensors.toFloats(w);
        }
    }

    private static NDArray bf16(NDManager manager, float[] values) {
        return DataTypes.cast(manager.create(values), DataType.BFLOAT16);
    }

    private static float[] gaussian(Random r, double std) {
        float[] x = new float[N];
        for (int i = 0; i < N; i++) {
            x[i] = (float) (r.nextGaussian() * std);
        }
        return x;
    }

    private static Float[] box(float[] v) {
        Float[] out = new Float[v.length];
        for (int i = 0; i < v.length; i++) {
            out[i] = v[i];
        }
        return out;
    }
}
