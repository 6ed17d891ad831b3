package org.sft4j.bench;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import org.sft4j.batch.Batch;
import org.sft4j.model.Decoder;
import org.sft4j.model.ModelConfig;
import org.sft4j.model.Parameter;
import org.sft4j.nd.Distributed;
import org.sft4j.nd.GradientBuckets;
import org.sft4j.nd.StepScope;
import org.sft4j.nd.Tensors;
import org.sft4j.train.AdamW;
import org.sft4j.train.GradientClipping;
import org.sft4j.train.LossStep;

import java.nio.file.Path;
import java.util.List;

/**
 * Data parallel on one host, one process per GPU: every rank holds a replica (rank 0's weights broadcast),
 * takes its rows of the global batch, and the gradients (scaled by the global supervised count) are summed
 * across ranks before clipping and AdamW: the same update as one process on the whole batch. Rank 0 prints
 * the loss of every step and the global tokens/s of the steps after {@code WARMUP}. Gradients are summed in
 * buckets while backward runs ({@link GradientBuckets}).
 *
 * <pre>java ... DataParallelCheck CONFIG_DIR RANK WORLD PORT GLOBAL_BATCH LENGTH STEPS WARMUP fused|bf16|pure-bf16</pre>
 */
public final class DataParallelCheck {

    public static void main(String[] args) throws Exception {
        ModelConfig cfg = ModelConfig.read(Path.of(args[0]));
        int rank = Integer.parseInt(args[1]);
        int world = Integer.parseInt(args[2]);
        int port = Integer.parseInt(args[3]);
        int globalBatch = Integer.parseInt(args[4]);
        int t = Integer.parseInt(args[5]);
        int steps = Integer.parseInt(args[6]);
        int warmup = Integer.parseInt(args[7]);
        String mode = args[8];
        Device device = Device.gpu(rank);
        Batch local = Bench.randomTokens(cfg, globalBatch, t, rank * globalBatch / world, (rank + 1) * globalBatch / world);
        long globalSupervised = (long) globalBatch * (t - 1);
        try (Decoder model = Decoder.randomInit(cfg, 0, device, Bench.compute(mode));
             Distributed group = world > 1 ? Distributed.join("127.0.0.1", port, rank, world, device) : null) {
            List<Parameter> params = model.trainableParameters();
            if (group != null) {
                group.broadcast(params.stream().map(Parameter::array).toList(), 0);
            }
            LossStep lossStep = new LossStep(model, 1024);
            try (AdamW opt = new AdamW(params, 0.9, 0.999, 1e-8, 0.0, false, model.compute(), model.manager());
                 GradientBuckets sync = group == null ? null : group.overlap(params.stream().map(Parameter::array).toList(),
                         GradientBuckets.DEFAULT_BUCKET_BYTES)) {
                long start = System.nanoTime();
                for (int i = 0; i < warmup + steps; i++) {
                    if (i == warmup) {
                        start = System.nanoTime();
                    }
                    double loss;
                    try (StepScope s = StepScope.open(model.manager())) {
                        // gradients are summed in buckets while backward runs (armed before the decoder's backward)
                        NDArray part = lossStep.forwardBackwardLazy(local, 1.0 / globalSupervised, s,
                                sync == null ? () -> { } : sync::arm);
                        double sum = Tensors.scalar(part);
                        if (group != null) {
                            sync.finish();
                            NDArray lossSum = s.manager().create(new float[] {(float) sum});
                            group.allReduceSum(List.of(lossSum));
                            sum = lossSum.toFloatArray()[0];
                        }
                        loss = sum / globalSupervised;
                        GradientClipping.clip(model.compute(), params, 1.0);
                        opt.step(1e-4);
                        params.forEach(p -> Tensors.zeroGrad(p.array()));
                    }
                    if (rank == 0) {
                        System.out.printf("step %d loss %.7f%n", i + 1, loss);
                    }
                }
                Bench.waitFor(model);
                double seconds = (System.nanoTime() - start) / 1e9;
                if (rank == 0) {
                    System.out.printf("world %d, global batch %d x %d, %s: %.0f tokens/s over %d steps%n", world, globalBatch,
                            t, mode, (double) globalBatch * t * steps / seconds, steps);
                }
            }
        }
    }
}
