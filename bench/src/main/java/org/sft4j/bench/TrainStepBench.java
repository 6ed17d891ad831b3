package org.sft4j.bench;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import org.sft4j.batch.Batch;
import org.sft4j.config.SftConfig;
import org.sft4j.model.Decoder;
import org.sft4j.model.ModelConfig;
import org.sft4j.model.ModelInputs;
import org.sft4j.model.Parameter;
import org.sft4j.model.lora.LoraConfig;
import org.sft4j.nd.Bf16Update;
import org.sft4j.nd.DeviceMemory;
import org.sft4j.nd.Engines;
import org.sft4j.nd.Profiler;
import org.sft4j.nd.StepScope;
import org.sft4j.train.AdamW;
import org.sft4j.train.GradientClipping;
import org.sft4j.train.LossScaler;
import org.sft4j.train.LossStep;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Full fine-tuning steps of a randomly initialised model on random tokens, the workload of the
 * transformers anchor {@code hf_bench.py}: forward, loss on every token, backward, clipping, AdamW.
 * Prints tokens/s over the timed steps (after warm-up steps).
 *
 * <pre>java ... org.sft4j.bench.TrainStepBench CONFIG_DIR DEVICE BATCH LENGTH STEPS [portable|fused|tf32|bf16|bf16-mixed|fp16|pure-bf16]
 *     [MAX_GRAD_NORM] [--lora RANK] [--gradient-checkpointing] [--checkpoint-layers N]
 *     [--bf16-update nearest|kahan|stochastic] [--lr LR] [--loss-every-step] [--loss-chunk-rows N] [--profile TRACE]</pre>
 * ({@code --profile}: PyTorch's profiler over all the steps, warm-up included: the Chrome trace to TRACE and the time
 * by kernel and by operator printed; the tokens/s of such a run are the profiler's, not comparable.)
 * (MAX_GRAD_NORM 0 skips clipping, as hf_bench.py does; the default 1.0 clips as training and hf_scale_bench.py do).
 * Any row of issue 17's table: a 7B or 14B shape from its config.json, B x T, full or LoRA on every projection (rank
 * r, alpha 2r, as hf_scale_bench.py sets PEFT up), a precision, activation checkpointing through the run's
 * {@code gradient_checkpointing} key ({@code --checkpoint-layers N}: only the first N layers, the run's
 * {@code gradient_checkpointing_layers}). The last line is a JSON object with hf_scale_bench.py's fields.
 * {@code --loss-every-step} prints the loss of every step (3 warm-up steps included) on the one fixed batch: the
 * loss curves of bench/gpu/bf16_curves.sh.
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

    /** What one row of issue 17's table asks for, from the command line. */
    record Row(Path config, Device device, int b, int t, int steps, String mode, double maxGradNorm, int loraRank,
               boolean checkpointing, Integer checkpointLayers, Bf16Update bf16Update, double lr, boolean everyLoss,
               int lossChunkRows, Path profile) {

        static Row parse(String[] args) {
            List<String> positional = new ArrayList<>();
            int lora = 0;
            boolean ckpt = false;
            Integer ckptLayers = null;
            Bf16Update update = null;
            double lr = 1e-5;
            boolean everyLoss = false;
            int chunkRows = 1024;   // the trainer's loss_chunk_rows default
            Path profile = null;
            for (int i = 0; i < args.length; i++) {
                switch (args[i]) {
                    case "--lr" -> lr = Double.parseDouble(args[++i]);
                    case "--loss-every-step" -> everyLoss = true;
                    case "--loss-chunk-rows" -> chunkRows = Integer.parseInt(args[++i]);
                    case "--profile" -> profile = Path.of(args[++i]);
                    case "--lora" -> lora = Integer.parseInt(args[++i]);
                    case "--gradient-checkpointing", "--ckpt" -> ckpt = true;
                    case "--checkpoint-layers" -> ckptLayers = Integer.parseInt(args[++i]);
                    case "--bf16-update" -> update = Bf16Update.of(args[++i]);
                    default -> positional.add(args[i]);
                }
            }
            String mode = positional.size() > 5 ? positional.get(5) : "portable";
            return new Row(Path.of(positional.get(0)), Engines.device(positional.get(1)), Integer.parseInt(positional.get(2)),
                    Integer.parseInt(positional.get(3)), Integer.parseInt(positional.get(4)), mode,
                    positional.size() > 6 ? Double.parseDouble(positional.get(6)) : 1.0, lora, ckpt, ckptLayers, update, lr,
                    everyLoss, chunkRows, profile);
        }
    }

    public static void main(String[] args) throws Exception {
        Row row = Row.parse(args);
        ModelConfig cfg = ModelConfig.read(row.config());
        Device device = row.device();
        int b = row.b();
        int t = row.t();
        int steps = row.steps();
        int warmup = 3;
        String mode = row.mode();
        double maxGradNorm = row.maxGradNorm();
        // activation checkpointing through the run's config keys, as a training run reads them
        Map<String, Object> keys = new HashMap<>();
        if (row.checkpointing()) {
            keys.put("gradient_checkpointing", true);
        }
        if (row.checkpointLayers() != null) {
            keys.put("gradient_checkpointing_layers", row.checkpointLayers());
        }
        int checkpointed = SftConfig.of(keys).train().checkpointedLayers(cfg.numLayers());
        boolean checkpointing = checkpointed > 0;
        Batch batch = Bench.randomTokens(cfg, b, t, 0, b);
        DeviceMemory.count(device);   // the CPU's tensors from here on, so the weights count as on a GPU
        try (Decoder model = Decoder.randomInit(cfg, 0, device, Bench.compute(mode))) {
            if (row.loraRank() > 0) {   // PEFT's setup in hf_scale_bench.py: every projection, alpha 2r, no dropout
                model.addLora(new LoraConfig(row.loraRank(), 2.0 * row.loraRank(), 0, List.of("all")), 0);
            }
            long params = model.baseParameters().stream().mapToLong(p -> p.array().size()).sum()
                    + model.loraParameters().stream().mapToLong(p -> p.array().size()).sum();
            Bf16Update update = row.bf16Update() != null ? row.bf16Update() : Bf16Update.defaultFor(model.compute().precision());
            System.out.printf("model %s, %,d parameters, device %s, batch %d x %d, mode %s (%s), max_grad_norm %s, "
                    + "LoRA rank %d, activation checkpointing of %d of %d layers, bf16_update %s%n", cfg.modelType(), params,
                    device, b, t, mode, model.compute(), maxGradNorm, row.loraRank(), checkpointed, cfg.numLayers(), update);
            LossStep step = new LossStep(model, row.lossChunkRows(), checkpointed);
            // fp16 trains on a scaled loss and unscales before clipping, as the trainer does (the scale stays put here)
            double lossScale = model.compute().precision().needsLossScaling() ? LossScaler.INITIAL_SCALE : 1;
            int skipped = 0;
            try (AdamW opt = new AdamW(model.trainableParameters(), 0.9, 0.999, 1e-8, 0.0, false, model.compute(),
                    model.manager(), update, 0)) {
                if (DeviceMemory.measurable(device)) {
                    DeviceMemory.resetPeak(device);   // as hf_bench.py: the peak of the training steps only
                }
                long start = 0;
                double loss = 0;
                if (row.profile() != null) {
                    Profiler.begin(device.isGpu());
                }
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
                            opt.step(row.lr());
                        } else {
                            skipped++;
                        }
                        // freed, as the trainer and hf_scale_bench.py (set_to_none) do
                        model.compute().releaseGradients(model.trainableParameters().stream().map(Parameter::array).toList());
                        if (row.everyLoss()) {   // a loss curve (one device sync per step)
                            System.out.printf(Locale.ROOT, "{\"step\": %d, \"loss\": %.6f}%n", i + 1,
                                    org.sft4j.nd.Tensors.scalar(sum) / batch.supervised());
                        }
                        if (i == warmup + steps - 1) {
                            loss = org.sft4j.nd.Tensors.scalar(sum) / batch.supervised();   // read once, at the end
                        }
                    }
                }
                Bench.waitFor(model);
                double seconds = (System.nanoTime() - start) / 1e9;
                if (row.profile() != null) {
                    System.out.println("profile of " + (warmup + steps) + " steps (Chrome trace: " + row.profile() + ")\n"
                            + Profiler.end(row.profile(), 30));
                }
                double tps = (double) b * t * steps / seconds;
                System.out.printf("loss %.4f; %d timed steps in %.2f s: %.0f tokens/s%s%n", loss, steps, seconds, tps,
                        skipped > 0 ? " (" + skipped + " fp16 overflow steps skipped)" : "");
                double peakGib = Double.NaN;
                if (DeviceMemory.measurable(device)) {
                    // the training steps' peak, before the breakdown below runs phases on their own
                    long[] mem = DeviceMemory.stats(device);
                    peakGib = mem[1] / 1073741824.0;
                    System.out.printf("%s peak allocated %.1f GiB (%,d B), peak reserved %.1f GiB%n",
                            device.isGpu() ? "CUDA" : "CPU tensor", peakGib, mem[1], mem[3] / 1073741824.0);
                }
                if (!checkpointing) {   // the breakdown times a whole-graph forward: no room for it where checkpointing is needed
                    breakdown(model, step, opt, batch, maxGradNorm, lossScale);
                }
                // the last line: hf_scale_bench.py's fields, for bench/gpu/scale_row.sh
                System.out.println(json(row, params, tps, peakGib, loss, checkpointed, update));
            }
        }
    }

    private static String json(Row row, long params, double tps, double peakGib, double loss, int checkpointed,
                               Bf16Update update) {
        return String.format(Locale.ROOT, "{\"trainer\": \"sft4j\", \"gpus\": 1, \"B_per_gpu\": %d, \"T\": %d, "
                        + "\"mode\": \"%s\", \"lora_rank\": %d, \"act_ckpt\": %s, \"ckpt_layers\": %d, \"params\": %d, "
                        + "\"tokens_per_s\": %d, \"peak_gib_per_gpu\": %s, \"tflops_6N_per_gpu\": %.1f, \"loss\": %.4f, "
                        + "\"bf16_update\": \"%s\"}",
                row.b(), row.t(), row.mode(), row.loraRank(), checkpointed > 0, checkpointed, params, Math.round(tps),
                Double.isNaN(peakGib) ? "null" : String.format(Locale.ROOT, "%.1f", peakGib), 6.0 * params * tps / 1e12,
                loss, update);
    }
}
