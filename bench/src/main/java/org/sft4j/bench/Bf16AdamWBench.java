package org.sft4j.bench;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import org.sft4j.nd.AdamWStep;
import org.sft4j.nd.Bf16Update;
import org.sft4j.nd.DataTypes;
import org.sft4j.nd.Engines;
import org.sft4j.nd.NativeOps;
import org.sft4j.nd.Tensors;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;

/**
 * sft4j's bf16 AdamW on a GPU: the CUDA kernel NVRTC compiles at run time against the same update composed of torch
 * operations (what ran before) and against the CPU loop (the same element function, native/src/adamw_bf16.h).
 * First each rule's weights after 4 steps on about 1M elements (the kernel must give the CPU loop's bits, with 8 elements
 * per thread and with one), then the time of
 * one update of {@code PARAMS} weights in tensors of {@code TENSOR} elements, kernel and composed alternately in the
 * same process. Exits non-zero when the kernel is not there or disagrees.
 *
 * <pre>java ... org.sft4j.bench.Bf16AdamWBench gpu PARAMS TENSOR [STEPS]</pre>
 */
public final class Bf16AdamWBench {

    private Bf16AdamWBench() {}

    public static void main(String[] args) {
        Device gpu = Engines.device(args[0]);
        long params = (long) Double.parseDouble(args[1]);
        long tensor = (long) Double.parseDouble(args[2]);
        int steps = args.length > 3 ? Integer.parseInt(args[3]) : 5;
        String status = NativeOps.cudaKernel(gpu.getDeviceId());
        System.out.println("bf16 AdamW CUDA kernel: " + status);
        boolean ok = !status.startsWith("not available");
        for (Bf16Update rule : Bf16Update.values()) {
            ok &= parity(gpu, rule, 1 << 20);         // 8 elements per thread
            ok &= parity(gpu, rule, (1 << 20) + 3);   // one per thread (a length not a multiple of 8)
        }
        time(gpu, params, tensor, steps);
        System.out.println(ok ? "KERNEL CHECKS PASSED" : "KERNEL CHECKS FAILED");
        System.exit(ok ? 0 : 1);
    }

    /** 4 steps of one rule on {@code n} weights: the GPU's kernel, the CPU loop and the GPU's composed operations. */
    private static boolean parity(Device gpu, Bf16Update rule, int n) {
        Random r = new Random(11);
        float[] w0 = gaussian(r, n, 0.02);
        float[][] grads = new float[4][];
        for (int s = 0; s < grads.length; s++) {
            grads[s] = gaussian(r, n, 1e-3);
        }
        float[] kernel = run(gpu, rule, w0, grads, false);
        float[] loop = run(Device.cpu(), rule, w0, grads, false);
        float[] composed = run(gpu, rule, w0, grads, true);
        int sameAsLoop = 0;
        int sameAsComposed = 0;
        int apart = 0;
        for (int i = 0; i < n; i++) {
            sameAsLoop += Float.compare(kernel[i], loop[i]) == 0 ? 1 : 0;
            sameAsComposed += Float.compare(kernel[i], composed[i]) == 0 ? 1 : 0;
            // the composed operations (torch's kernels contract into fused multiply-adds) round a few fp32
            // intermediates otherwise, which can move a stochastically rounded weight; counted, not failed
            apart += Math.abs(kernel[i] - composed[i]) > Math.abs(composed[i]) * 0.008 + 1e-7 ? 1 : 0;
        }
        boolean ok = sameAsLoop == n && sameAsComposed > 0.995 * n;
        System.out.printf(Locale.ROOT, "%-10s kernel = CPU loop: %d of %d weights; = composed: %.4f%%, more than a bf16 "
                + "step from it: %d  %s%n", rule, sameAsLoop, n, 100.0 * sameAsComposed / n, apart, ok ? "ok" : "FAIL");
        return ok;
    }

    private static float[] run(Device device, Bf16Update rule, float[] w0, float[][] grads, boolean composed) {
        try (NDManager manager = Engines.newManager(device)) {
            NDArray w = bf16(manager, w0);
            NDArray m = DataTypes.zerosLike(w);
            NDArray v = DataTypes.zerosLike(w);
            List<NDArray> comp = rule == Bf16Update.KAHAN ? List.of(DataTypes.zerosLike(w)) : List.of();
            for (int s = 1; s <= grads.length; s++) {
                AdamWStep step = new AdamWStep(s, 1e-4, 0.9, 0.999, 0.01, 1e-8, rule, 90 + s);
                NativeOps.adamWBf16(List.of(w), List.of(bf16(manager, grads[s - 1])), List.of(m), List.of(v), comp, step,
                        composed);
            }
            return Tensors.toFloats(w);
        }
    }

    /** Milliseconds per update of {@code params} weights, the kernel's and the composed operations', alternated. */
    private static void time(Device gpu, long params, long tensor, int steps) {
        try (NDManager manager = Engines.newManager(gpu)) {
            List<NDArray> w = new ArrayList<>();
            List<NDArray> g = new ArrayList<>();
            List<NDArray> m = new ArrayList<>();
            List<NDArray> v = new ArrayList<>();
            for (long left = params; left > 0; left -= tensor) {
                Shape shape = new Shape(Math.min(left, tensor));
                NDArray x = bf16Normal(manager, shape, 0.02f);
                w.add(x);
                g.add(bf16Normal(manager, shape, 1e-3f));
                m.add(DataTypes.zerosLike(x));
                v.add(DataTypes.zerosLike(x));
            }
            double[] kernelMs = new double[steps];
            double[] composedMs = new double[steps];
            for (int s = 0; s < steps + 1; s++) {   // the first round warms both up
                for (boolean composed : new boolean[] {false, true}) {
                    AdamWStep step = new AdamWStep(s + 1, 1e-5, 0.9, 0.999, 0.0, 1e-8, Bf16Update.STOCHASTIC, s);
                    Tensors.toFloats(w.get(0).get(0));
                    long start = System.nanoTime();
                    NativeOps.adamWBf16(w, g, m, v, List.of(), step, composed);
                    Tensors.toFloats(w.get(w.size() - 1).get(0));   // waits for the device
                    double ms = (System.nanoTime() - start) / 1e6;
                    if (s > 0) {
                        (composed ? composedMs : kernelMs)[s - 1] = ms;
                    }
                }
            }
            double k = Bench.median(kernelMs);
            double c = Bench.median(composedMs);
            System.out.printf(Locale.ROOT, "one stochastic-rounding update of %,d weights in %d tensors: kernel %.1f ms, "
                    + "composed %.1f ms (median of %d): composed / kernel %.1fx%n", params, w.size(), k, c, steps, c / k);
        }
    }

    /** Normal bf16 values, their fp32 draw freed at once (a 7B set of weights leaves no room for it). */
    private static NDArray bf16Normal(NDManager manager, Shape shape, float std) {
        try (NDArray f = manager.randomNormal(0, std, shape, DataType.FLOAT32)) {
            return DataTypes.cast(f, DataType.BFLOAT16);
        }
    }

    private static NDArray bf16(NDManager manager, float[] values) {
        return DataTypes.cast(manager.create(values), DataType.BFLOAT16);
    }

    private static float[] gaussian(Random r, int n, double std) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) (r.nextGaussian() * std);
        }
        return x;
    }
}
