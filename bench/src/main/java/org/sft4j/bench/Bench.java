package org.sft4j.bench;

import org.sft4j.batch.Batch;
import org.sft4j.model.Decoder;
import org.sft4j.model.ModelConfig;
import org.sft4j.model.Parameter;
import org.sft4j.nd.Compute;
import org.sft4j.nd.Precision;

import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

/** Helpers shared by the benchmarks: medians, peak heap, printing. */
final class Bench {

    private Bench() {}

    static double median(double[] xs) {
        double[] s = xs.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }

    /** Peak heap used since the pools were last reset, in MiB (sum of the heap pools' peaks). */
    static double peakHeapMb() {
        long sum = 0;
        for (MemoryPoolMXBean p : ManagementFactory.getMemoryPoolMXBeans()) {
            if (p.getType() == MemoryType.HEAP) {
                sum += p.getPeakUsage().getUsed();
            }
        }
        return sum / 1048576.0;
    }

    static void resetPeakHeap() {
        System.gc();
        for (MemoryPoolMXBean p : ManagementFactory.getMemoryPoolMXBeans()) {
            p.resetPeakUsage();
        }
    }

    /**
     * Rows [from, to) of a batch of {@code rows} x {@code t} random tokens (seeded: every process draws the
     * same batch) with next-token targets, as transformers shifts {@code labels=input_ids}.
     */
    static Batch randomTokens(ModelConfig cfg, int rows, int t, int from, int to) {
        Random r = new Random(0);
        long[][] all = new long[rows][t];
        for (long[] row : all) {
            for (int j = 0; j < t; j++) {
                row[j] = r.nextInt(cfg.vocabSize());
            }
        }
        int n = to - from;
        long[][] ids = new long[n][];
        long[][] labels = new long[n][t];
        int[][] mask = new int[n][t];
        long[][] pos = new long[n][t];
        for (int i = 0; i < n; i++) {
            ids[i] = all[from + i];
            for (int j = 0; j < t; j++) {
                labels[i][j] = j + 1 < t ? ids[i][j + 1] : -100;
                mask[i][j] = 1;
                pos[i][j] = j;
            }
        }
        return new Batch(ids, labels, mask, pos, null, n * t, n * (t - 1));
    }

    /**
     * How a benchmark's model computes, by name: portable, fused (fp32), tf32 (fused, with TF32 products), bf16 or
     * fp16 (bf16-mixed, fp16-mixed: fp32 master weights) or pure-bf16 (bf16-true). Sets the TF32 switch accordingly.
     */
    static Compute compute(String mode) {
        Compute c = switch (mode) {
            case "portable" -> Compute.portable();
            case "fused", "tf32" -> Compute.fused(Precision.FP32);
            case "bf16", "bf16-mixed" -> Compute.fused(Precision.BF16_MIXED);
            case "fp16" -> Compute.fused(Precision.FP16_MIXED);
            case "pure-bf16", "bf16-true" -> Compute.fused(Precision.BF16_TRUE);
            default -> throw new IllegalArgumentException("mode '" + mode + "': portable, fused, tf32, bf16 (bf16-mixed), "
                    + "fp16 or pure-bf16 (bf16-true)");
        };
        Compute.allowTf32(mode.equals("tf32"));
        return c;
    }

    /** Waits for the model's device: reading a value back ends the stream's queued work. */
    static void waitFor(Decoder model) {
        List<Parameter> ps = model.trainableParameters();
        org.sft4j.nd.Tensors.toFloats(ps.get(ps.size() - 1).array().get(0));   // bf16 weights too
    }

    static void row(String what, String value) {
        System.out.printf("%-52s %s%n", what, value);
    }
}
