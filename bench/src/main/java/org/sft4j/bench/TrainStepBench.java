package org.sft4j.bench;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import org.sft4j.batch.Batch;
import org.sft4j.model.Decoder;
import org.sft4j.model.ModelConfig;
import org.sft4j.model.ModelInputs;
import org.sft4j.nd.DeviceMemory;
import org.sft4j.nd.Engines;
import org.sft4j.nd.StepScope;
import org.sft4j.train.AdamW;
import org.sft4j.train.GradientClipping;
import org.sft4j.train.LossScaler;
import org.sft4j.train.LossStep;

import java.nio.file.Path;

/**
 * Full fine-tuning steps of a randomly initialised model on random tokens, the workload of the
 * transformers anchor {@code hf_bench.py}: forward, loss on every token, backward, clipping, AdamW.
 * Prints tokens/s over the timed steps (after warm-up steps).
 *
 * <pre>java ... org.sft4j.bench.TrainStepBench CONFIG_DIR DEVICE BATCH LENGTH STEPS [portable|fused|tf32|bf16|pure-bf16] [MAX_GRAD_NORM]</pre>
 * (MAX_GRAD_NORM 0 skips clipping, as hf_bench.py does; the default 1.0 clips as training does)
 */
public final class TrainStepBench {

    /** Where a step's time goes: each phase timed alone over 3 steps, waiting for the device after it. */
    private static void breakdown(Decoder model, LossStep step, AdamW opt, Batch batch, double maxGradNorm, double lossScale) {
        double forward = 0;
        double forwardBackward = 0;
        double clip = 0;
        double update = 0;
        for (int i = 0; i < 3; i++) {
            try (StepScope s = StepScope.open(model.manager())) {
                long t0 = System.nanoTime();
                boolean was = org.sft4j.nd.Tensors.gradMode(true);
                try (StepScope forwardOnly = s.part()) {   // its activations freed before the full step runs
                    model.forward(ModelInputs.of(batch), forwardOnly.manager(), null, true);
                    Bench.waitFor(model);
                }
                org.sft4j.nd.Tensors.gradMode(was);
                long t1 = System.nanoTime();
                step.forwardBackwardLazy(batch, lossScale / batch.supervised(), s);
                Bench.waitFor(model);
                long t2 = System.nanoTime();
                GradientClipping.clip(model.compute(), model.trainableParameters(), maxGradNorm, lossScale);
                Bench.waitFor(model);
                long t3 = System.nanoTime();
                opt.step(1e-5);
                model.trainableParameters().forEach(p -> org.sft4j.nd.Tensors.zeroGrad(p.array()));
                Bench.waitFor(model);
                long t4 = System.nanoTime();
                forward += (t1 - t0) / 3e6;
                forwardBackward += (t2 - t1) / 3e6;
                clip += (t3 - t2) / 3e6;
                update += (t4 - t3) / 3e6;
            }
        }
        System.out.printf("per step, each phase alone: decoder forward %.1f ms; forward + loss + backward %.1f ms; "
                + "clipping %.1f ms; AdamW + zeroing %.1f ms%n", forward, forwardBackward, clip, update);
    }

    public static void main(String[] args) throws Exception {
        ModelConfig cfg = ModelConfig.read(Path.of(args[0]));
        Device device = Engines.device(args[1]);
        int b = Integer.parseInt(args[2]);
        int t = Integer.parseInt(args[3]);
        int steps = Integer.parseInt(args[4]);
        int warmup = 3;
        String mode = args.length > 5 ? args[5] : "portable";
        double maxGradNorm = args.length > 6 ? Double.parseDouble(args[6]) : 1.0;
        Batch batch = Bench.randomTokens(cfg, b, t, 0, b);
        try (Decoder model = Decoder.randomInit(cfg, 0, device, Bench.compute(mode))) {
            System.out.printf("model %s, %,d parameters, device %s, batch %d x %d, mode %s (%s), max_grad_norm %s%n",
                    cfg.modelType(), cfg.parameterCount(), device, b, t, mode, model.compute(), maxGradNorm);
            LossStep step = new LossStep(model, 1024);
            // fp16 trains on a scaled loss and unscales before clipping, as the trainer does (the scale stays put here)
            double lossScale = model.compute().precision().needsLossScaling() ? LossScaler.INITIAL_SCALE : 1;
            int skipped = 0;
            try (AdamW opt = new AdamW(model.trainableParameters(), 0.9, 0.999, 1e-8, 0.0, false, model.compute(),
                    model.manager())) {
                if (DeviceMemory.measurable(device)) {
                    DeviceMemory.resetPeak(device);   // as hf_bench.py: the peak of the training steps only
                }
                long start = 0;
                double loss = 0;
                for (int i = 0; i < warmup + steps; i++) {
                    if (i == warmup) {
                        Bench.waitFor(model);
                        start = System.nanoTime();
                    }
                    try (StepScope s = StepScope.open(model.manager())) {
                        NDArray sum = step.forwardBackwardLazy(batch, lossScale / batch.supervised(), s);
                        double norm = maxGradNorm > 0 || lossScale != 1
                                ? GradientClipping.clip(model.compute(), model.trainableParameters(), maxGradNorm, lossScale) : 0;
                        if (Double.isFinite(norm)) {
                            opt.step(1e-5);
                        } else {
                            skipped++;
                        }
                        model.trainableParameters().forEach(p -> org.sft4j.nd.Tensors.zeroGrad(p.array()));
                        if (i == warmup + steps - 1) {
                            loss = org.sft4j.nd.Tensors.scalar(sum) / batch.supervised();   // read once, at the end
                        }
                    }
                }
                Bench.waitFor(model);
                double seconds = (System.nanoTime() - start) / 1e9;
                System.out.printf("loss %.4f; %d timed steps in %.2f s: %.0f tokens/s%s%n", loss, steps, seconds,
                        (double) b * t * steps / seconds, skipped > 0 ? " (" + skipped + " fp16 overflow steps skipped)" : "");
                if (DeviceMemory.measurable(device)) {
                    // the training steps' peak, before the breakdown below runs phases on their own
                    long[] mem = DeviceMemory.stats(device);
                    System.out.printf("CUDA peak allocated %.1f GiB, peak reserved %.1f GiB%n", mem[1] / 1073741824.0,
                            mem[3] / 1073741824.0);
                }
                breakdown(model, step, opt, batch, maxGradNorm, lossScale);
            }
        }
    }
}
