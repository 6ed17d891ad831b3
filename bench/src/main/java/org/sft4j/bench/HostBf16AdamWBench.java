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

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * sft4j's bf16 AdamW on the host (bf16-true on a CPU, or with the optimizer offloaded): the extension's loop
 * (native/src/adamw_bf16.h) against the same update composed of torch's CPU operations, alternately in one process,
 * over {@code TENSORS} bf16 tensors of {@code ELEMENTS} each (stochastic rounding); best of {@code REPS}.
 *
 * <pre>java ... org.sft4j.bench.HostBf16AdamWBench TENSORS ELEMENTS [REPS]</pre>
 */
public final class HostBf16AdamWBench {

    private HostBf16AdamWBench() {}

    public static void main(String[] args) {
        int tensors = Integer.parseInt(args[0]);
        long elements = (long) Double.parseDouble(args[1]);
        int reps = args.length > 2 ? Integer.parseInt(args[2]) : 5;
        if (!NativeOps.available()) {
            System.err.println("needs the native extension (native/build.sh, SFT4J_NATIVE)");
            System.exit(2);
        }
        try (NDManager m = Engines.newManager(Device.cpu())) {
            List<NDArray> w = new ArrayList<>();
            List<NDArray> g = new ArrayList<>();
            List<NDArray> mt = new ArrayList<>();
            List<NDArray> vt = new ArrayList<>();
            for (int i = 0; i < tensors; i++) {
                w.add(bf16(m, elements, 1));
                g.add(bf16(m, elements, 1e-3f));
                mt.add(DataTypes.cast(m.zeros(new Shape(elements), DataType.FLOAT32), DataType.BFLOAT16));
                vt.add(DataTypes.cast(m.zeros(new Shape(elements), DataType.FLOAT32), DataType.BFLOAT16));
            }
            double loop = Double.MAX_VALUE;
            double composed = Double.MAX_VALUE;
            for (int r = 0; r <= reps; r++) {
                AdamWStep step = new AdamWStep(r + 1, 1e-5, 0.9, 0.999, 0.01, 1e-8, Bf16Update.STOCHASTIC, 17);
                for (boolean asComposed : new boolean[] {false, true}) {
                    long t0 = System.nanoTime();
                    NativeOps.adamWBf16(w, g, mt, vt, List.of(), step, asComposed);
                    double ms = (System.nanoTime() - t0) / 1e6;
                    if (r > 0 && asComposed) {
                        composed = Math.min(composed, ms);
                    } else if (r > 0) {
                        loop = Math.min(loop, ms);
                    }
                }
            }
            System.out.printf(Locale.ROOT, "%d x %d bf16 weights on %d host threads: loop %.1f ms, composed %.1f ms "
                    + "(composed / loop %.2fx)%n", tensors, elements, org.sft4j.nd.FlatBuffers.hostThreads(), loop,
                    composed, composed / loop);
        }
    }

    private static NDArray bf16(NDManager m, long n, float scale) {
        return DataTypes.cast(m.randomNormal(0, scale, new Shape(n), DataType.FLOAT32), DataType.BFLOAT16);
    }
}
