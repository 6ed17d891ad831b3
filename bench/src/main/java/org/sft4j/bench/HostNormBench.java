package org.sft4j.bench;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import org.sft4j.nd.Engines;
import org.sft4j.nd.NativeOps;
import org.sft4j.nd.Tensors;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The gradient-clipping norm over fp32 host tensors, as an offloaded optimizer takes it each step (its master shards'
 * gradients): the time of {@code NativeOps.clipGradNorm} (norm only) over {@code TENSORS} flat tensors of
 * {@code ELEMENTS} each, best of {@code REPS}, and the norm (run it on two builds to compare them).
 *
 * <pre>java ... org.sft4j.bench.HostNormBench TENSORS ELEMENTS [REPS]</pre>
 */
public final class HostNormBench {

    private HostNormBench() {}

    public static void main(String[] args) {
        int tensors = Integer.parseInt(args[0]);
        long elements = (long) Double.parseDouble(args[1]);
        int reps = args.length > 2 ? Integer.parseInt(args[2]) : 10;
        if (!NativeOps.available()) {
            System.err.println("needs the native extension (native/build.sh, SFT4J_NATIVE)");
            System.exit(2);
        }
        try (NDManager m = Engines.newManager(Device.cpu())) {
            List<NDArray> grads = new ArrayList<>();
            for (int i = 0; i < tensors; i++) {
                grads.add(m.randomNormal(0, 1e-3f, new Shape(elements), ai.djl.ndarray.types.DataType.FLOAT32));
            }
            double best = Double.MAX_VALUE;
            double norm = 0;
            for (int r = 0; r < reps + 1; r++) {
                long t0 = System.nanoTime();
                norm = Tensors.scalar(NativeOps.clipGradNorm(grads, 0, m));
                double ms = (System.nanoTime() - t0) / 1e6;
                if (r > 0) {
                    best = Math.min(best, ms);
                }
            }
            System.out.printf(Locale.ROOT, "%d x %d fp32 host elements: norm %.6f in %.2f ms (%.1f GB/s)%n", tensors, elements,
                    norm, best, tensors * elements * 4 / best / 1e6);
        }
    }
}
