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
import org.sft4j.nd.FlatBuffers;
import org.sft4j.nd.NativeOps;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * sft4j's bf16 AdamW on the host (bf16-true on a CPU, or with the optimizer offloaded): the extension's loop
 * (native/src/adamw_bf16.h) against the same update composed of torch's CPU operations, alternately in one process,
 * over {@code TENSORS} bf16 tensors of {@code ELEMENTS} each under {@code RULE} (default stochastic); best of
 * {@code REPS}. With {@code fp32}, also torch's fused AdamW over fp32 tensors of the same sizes (the update an
 * offloaded bf16-mixed run makes): what the host's memory gives a loop bound by it. Throughputs count the bytes each
 * update must move (bf16: 8 read, 6 written per weight; fp32: 16 read, 12 written).
 *
 * <pre>java ... org.sft4j.bench.HostBf16AdamWBench TENSORS ELEMENTS [REPS [RULE [fp32]]]</pre>
 */
public final class HostBf16AdamWBench {

    private HostBf16AdamWBench() {}

    public static void main(String[] args) {
        int tensors = Integer.parseInt(args[0]);
        long elements = (long) Double.parseDouble(args[1]);
        int reps = args.length > 2 ? Integer.parseInt(args[2]) : 5;
        Bf16Update rule = args.length > 3 ? Bf16Update.of(args[3]) : Bf16Update.STOCHASTIC;
        boolean fp32 = args.length > 4 && args[4].equals("fp32");
        if (!NativeOps.available()) {
            System.err.println("needs the native extension (native/build.sh, SFT4J_NATIVE)");
            System.exit(2);
        }
        try (NDManager m = Engines.newManager(Device.cpu())) {
            List<List<NDArray>> bf16 = states(m, tensors, elements, DataType.BFLOAT16);
            List<NDArray> comp = rule == Bf16Update.KAHAN ? zeros(m, tensors, elements, DataType.BFLOAT16) : List.of();
            double loop = Double.MAX_VALUE;
            double composed = Double.MAX_VALUE;
            for (int r = 0; r <= reps; r++) {
                AdamWStep step = new AdamWStep(r + 1, 1e-5, 0.9, 0.999, 0.01, 1e-8, rule, 17);
                for (boolean asComposed : new boolean[] {false, true}) {
                    long t0 = System.nanoTime();
                    NativeOps.adamWBf16(bf16.get(0), bf16.get(1), bf16.get(2), bf16.get(3), comp, step, asComposed);
                    double ms = (System.nanoTime() - t0) / 1e6;
                    if (r > 0 && asComposed) {
                        composed = Math.min(composed, ms);
                    } else if (r > 0) {
                        loop = Math.min(loop, ms);
                    }
                }
            }
            double weights = (double) tensors * elements;
            System.out.printf(Locale.ROOT, "%d x %d bf16 weights (%s) on %d host threads (%d processors): loop %.1f ms "
                    + "(%.1f GB/s), composed %.1f ms (composed / loop %.2fx)%n", tensors, elements, rule.name()
                    .toLowerCase(Locale.ROOT), FlatBuffers.hostThreads(), Runtime.getRuntime().availableProcessors(),
                    loop, weights * 14 / loop / 1e6, composed, composed / loop);
            if (fp32) {
                bf16.forEach(list -> list.forEach(NDArray::close));
                double fused = fusedFp32(m, tensors, elements, reps);
                System.out.printf(Locale.ROOT, "%d x %d fp32 weights, torch's fused AdamW: %.1f ms (%.1f GB/s); "
                        + "fp32 / bf16 loop %.2fx%n", tensors, elements, fused, weights * 28 / fused / 1e6, fused / loop);
            }
        }
    }

    private static double fusedFp32(NDManager m, int tensors, long elements, int reps) {
        List<List<NDArray>> s = states(m, tensors, elements, DataType.FLOAT32);
        double best = Double.MAX_VALUE;
        for (int r = 0; r <= reps; r++) {
            try (NDArray step = m.create((float) (r + 1))) {
                long t0 = System.nanoTime();
                NativeOps.fusedAdamW(s.get(0), s.get(1), s.get(2), s.get(3), step, 1e-5, 0.9, 0.999, 0.01, 1e-8, 1);
                double ms = (System.nanoTime() - t0) / 1e6;
                if (r > 0) {
                    best = Math.min(best, ms);
                }
            }
        }
        return best;
    }

    /** Weights, gradients and the two moments. */
    private static List<List<NDArray>> states(NDManager m, int tensors, long elements, DataType type) {
        List<NDArray> w = new ArrayList<>();
        List<NDArray> g = new ArrayList<>();
        for (int i = 0; i < tensors; i++) {
            w.add(DataTypes.cast(m.randomNormal(0, 1, new Shape(elements), DataType.FLOAT32), type));
            g.add(DataTypes.cast(m.randomNormal(0, 1e-3f, new Shape(elements), DataType.FLOAT32), type));
        }
        return List.of(w, g, zeros(m, tensors, elements, type), zeros(m, tensors, elements, type));
    }

    private static List<NDArray> zeros(NDManager m, int tensors, long elements, DataType type) {
        List<NDArray> out = new ArrayList<>();
        for (int i = 0; i < tensors; i++) {
            out.add(DataTypes.cast(m.zeros(new Shape(elements), DataType.FLOAT32), type));
        }
        return out;
    }
}
