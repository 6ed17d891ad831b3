package org.sft4j.bench;

import ai.djl.Device;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.sft4j.config.SftConfig;
import org.sft4j.data.TokenizedSet;
import org.sft4j.model.Decoder;
import org.sft4j.model.ModelConfig;
import org.sft4j.nd.Compute;
import org.sft4j.nd.DeviceMemory;
import org.sft4j.nd.Engines;
import org.sft4j.nd.Profiler;
import org.sft4j.train.Launcher;
import org.sft4j.train.ModelSource;
import org.sft4j.train.ResumePoint;
import org.sft4j.train.StepLog;
import org.sft4j.train.TrainData;
import org.sft4j.train.TrainListener;
import org.sft4j.train.TrainResult;
import org.sft4j.train.TrainSetup;
import org.sft4j.train.Trainer;
import org.sft4j.train.WorkerEnv;
import org.sft4j.train.WorkerEvents;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * sft4j's real trainer, ZeRO-sharded over N GPUs (one worker JVM each, as {@code nproc_per_node} runs it), on the job
 * {@code hf_scale_bench.py} runs through torchrun: random init of a config, B x T random tokens per GPU, every token
 * supervised, AdamW at lr 1e-5, clipping at 1.0; 3 warm-up steps, then STEPS timed. Prints each step's loss (for
 * {@code compare_losses.py}) and one JSON line with hf_scale_bench.py's keys: tokens/s over all GPUs, peak GiB per GPU
 * (the largest over the ranks, allocated since the trainer was set up, as hf_scale_bench.py resets it after wrapping
 * the model), 6N TFLOP/s per GPU, the last loss; plus zero_stage.
 *
 * <pre>java ... ShardedBench CONFIG_DIR NPROC B T bf16-mixed|pure-bf16 ZERO_STAGE ckpt|nockpt [STEPS] [OUT_DIR] [SAME_BATCH]</pre>
 * ({@code -Dsft4j.benchCkptLayers=N} with {@code ckpt}: only the first N layers checkpointed;
 * {@code -Dsft4j.benchProfile=TRACE}: rank 0's timed steps under PyTorch's profiler, the Chrome trace to TRACE and the
 * time by kernel and by operator to TRACE.txt; {@code -Dsft4j.benchOffload=true}: the stage through a DeepSpeed JSON
 * with {@code offload_optimizer: {device: cpu}}; {@code -Dsft4j.benchOffloadRatio=R}: its {@code ratio}, the share offloaded.)
 * With {@code SAME_BATCH} ({@code same}) every step trains on the same batch, as hf_scale_bench.py does; otherwise each
 * step gets new tokens, and the global batch (not its split over the GPUs) is the same for any NPROC, so runs on 1 and
 * 2 GPUs can be compared step by step.
 */
public final class ShardedBench {

    private static final int WARMUP = 3;
    private static final ObjectMapper JSON = new ObjectMapper();

    public static void main(String[] args) throws Exception {
        if (args.length < 7 && !(args.length == 2 && args[0].equals("train"))) {
            System.err.println("usage: ShardedBench CONFIG_DIR NPROC B T bf16-mixed|pure-bf16 ZERO_STAGE ckpt|nockpt "
                    + "[STEPS] [OUT_DIR] [same]");
            System.exit(2);
        }
        if (args[0].equals("train")) {
            worker(SftConfig.read(Path.of(args[1])), Path.of(args[1]).getParent());
            return;
        }
        Path configDir = Path.of(args[0]);
        int nproc = Integer.parseInt(args[1]);
        int b = Integer.parseInt(args[2]);
        int t = Integer.parseInt(args[3]);
        String mode = args[4];
        int stage = Integer.parseInt(args[5]);
        boolean ckpt = args[6].equals("ckpt");
        int steps = args.length > 7 ? Integer.parseInt(args[7]) : 10;
        Path out = args.length > 8 ? Path.of(args[8]) : Files.createTempDirectory("sharded-bench");
        boolean same = args.length > 9 && args[9].equals("same");
        Map<String, Object> job = new HashMap<>();
        job.put("output_dir", out.toString());
        job.put("overwrite_output_dir", true);
        job.put("model_name_or_path", configDir.toAbsolutePath().toString());
        job.put("nproc_per_node", nproc);
        job.put("per_device_train_batch_size", b);
        job.put("cutoff_len", t);
        job.put("max_steps", WARMUP + steps);
        job.put("precision", mode.equals("pure-bf16") ? "bf16-true" : mode);
        boolean offload = Boolean.getBoolean("sft4j.benchOffload");
        double ratio = Double.parseDouble(System.getProperty("sft4j.benchOffloadRatio", "1"));
        if (offload) {
            Path ds = Files.createTempFile("sharded-bench-offload", ".json");
            ds.toFile().deleteOnExit();
            Files.writeString(ds, "{\"zero_optimization\": {\"stage\": " + stage
                    + ", \"offload_optimizer\": {\"device\": \"cpu\", \"pin_memory\": true, \"ratio\": " + ratio + "}}}");
            job.put("deepspeed", ds.toAbsolutePath().toString());
        } else {
            job.put("zero_stage", stage);
        }
        job.put("gradient_checkpointing", ckpt);
        String ckptLayers = System.getProperty("sft4j.benchCkptLayers");   // gradient_checkpointing_layers
        if (ckpt && ckptLayers != null) {
            job.put("gradient_checkpointing_layers", Integer.parseInt(ckptLayers));
        }
        job.put("device", System.getProperty("sft4j.benchDevice", "gpu"));   // cpu: a check of the bench itself over Gloo
        job.put("logging_steps", 1);
        job.put("save_strategy", System.getProperty("sft4j.benchSave", "no"));   // a 14B checkpoint fills a disk
        job.put("learning_rate", 1e-5);
        job.put("lr_scheduler_type", "constant");
        job.put("max_grad_norm", 1.0);
        job.put("seed", same ? 1 : 0);   // the worker reads the seed back: 1 = one batch for every step
        job.put("master_port", 29561);
        List<Double> rates = new ArrayList<>();
        double[] last = {Double.NaN};
        TrainListener console = new TrainListener() {
            @Override
            public void onStep(StepLog s) {
                System.out.printf("step %d loss %.7f %.0f tok/s%n", s.step(), s.loss(), s.tokensPerSecond());
                if (s.step() > WARMUP) {
                    rates.add(s.tokensPerSecond());
                }
                last[0] = s.loss();
            }
        };
        List<String> worker = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElse("java"), "-Xmx24g"));
        if (System.getProperty("sft4j.benchProfile") != null) {
            worker.add("-Dsft4j.benchProfile=" + Path.of(System.getProperty("sft4j.benchProfile")).toAbsolutePath());
        }
        worker.addAll(List.of("-cp", System.getProperty("java.class.path"), ShardedBench.class.getName()));
        TrainResult r = Launcher.run(SftConfig.of(job), List.of(console), null, worker);
        ModelConfig mc = ModelConfig.read(configDir);
        double peak = 0;
        double host = 0;   // the node's: every rank's resident peak summed (an offloaded optimizer lives there)
        for (int rank = 0; rank < nproc; rank++) {
            Path f = out.resolve("peak-rank-" + rank + ".txt");
            if (Files.exists(f)) {
                peak = Math.max(peak, Double.parseDouble(Files.readString(f).trim()));
            }
            Path h = out.resolve("host-rank-" + rank + ".txt");
            if (Files.exists(h)) {
                host += Double.parseDouble(Files.readString(h).trim());
            }
        }
        // step time: the harmonic mean of the per-step rates is the rate over all timed steps
        double seconds = rates.stream().mapToDouble(x -> 1 / x).sum();
        double tps = rates.isEmpty() ? Double.NaN : rates.size() / seconds;
        ObjectNode line = JSON.createObjectNode();
        line.put("gpus", nproc).put("B_per_gpu", b).put("T", t).put("mode", mode).put("lora_rank", 0).put("act_ckpt", ckpt)
                .put("ckpt_layers", SftConfig.of(job).train().checkpointedLayers(mc.numLayers()))
                .put("params", mc.parameterCount()).put("tokens_per_s", Math.round(tps))
                .put("peak_gib_per_gpu", Math.round(peak * 10) / 10.0).put("peak_host_gib", Math.round(host * 10) / 10.0)
                .put("tflops_6N_per_gpu", Math.round(6.0 * mc.parameterCount() * tps / nproc / 1e11) / 10.0)
                .put("loss", Math.round(last[0] * 1e4) / 1e4).put("zero_stage", stage).put("offload_optimizer", offload)
                .put("offload_ratio", offload ? ratio : 0)
                .put("tool", "sft4j")
                .put("status", r.status().name());
        System.out.println(line);
    }

    /**
     * Profiles the timed steps (after the warm-up ones): the Chrome trace to {@code trace} and the time by kernel and by
     * operator beside it ({@code trace}.txt).
     */
    private static TrainListener profiler(Path trace, boolean gpu) {
        return new TrainListener() {
            @Override
            public void onStep(StepLog s) {
                if (s.step() == WARMUP) {
                    Profiler.begin(gpu);
                }
            }

            @Override
            public void onEnd(TrainResult result) {
                try {
                    Files.writeString(trace.resolveSibling(trace.getFileName() + ".txt"), Profiler.end(trace, 30));
                } catch (java.io.IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            }
        };
    }

    private static void worker(SftConfig cfg, Path out) throws Exception {
        WorkerEnv env = WorkerEnv.fromEnvironment();
        int world = env == null ? 1 : env.world();
        int rank = env == null ? 0 : env.rank();
        int local = env == null ? 0 : env.localRank();
        Path modelDir = Path.of(cfg.model().modelNameOrPath());
        ModelConfig mc = ModelConfig.read(modelDir);
        boolean same = cfg.train().seed() == 1;
        int global = cfg.train().perDeviceTrainBatchSize() * world;
        int n = same ? global : global * cfg.train().maxSteps();
        TokenizedSet train = LaunchCheck.randomSet(n, cfg.data().cutoffLen(), mc.vocabSize());
        List<TrainListener> listeners = new ArrayList<>();
        if (env == null || env.main()) {
            listeners.add(WorkerEvents.toStandardOutput());
        }
        String profile = System.getProperty("sft4j.benchProfile");   // rank 0's timed steps under PyTorch's profiler
        if (profile != null && rank == 0) {
            listeners.add(profiler(Path.of(profile), Engines.device(cfg.model().device()).isGpu()));
        }
        Device device = Engines.device(cfg.model().device());
        Device mine = device.isGpu() ? Device.gpu(local) : device;
        DeviceMemory.count(mine);   // on the CPU: libtorch's tensor bytes, so a Gloo run reports its peak too
        try (Decoder model = Decoder.randomInit(mc, 0, mine, Compute.forPrecision(cfg.train().precision()));
             Trainer t = TrainSetup.trainer(cfg.train(), model, TrainData.of(train), ModelSource.of(modelDir, "random-init"),
                     ResumePoint.none(), listeners)) {
            boolean measured = DeviceMemory.measurable(mine);
            if (measured) {
                DeviceMemory.resetPeak(mine);   // sharded: what training holds, not the whole model random init made
            }
            t.fit();
            if (measured) {
                Files.writeString(out.resolve("peak-rank-" + rank + ".txt"),
                        String.valueOf(DeviceMemory.stats(mine)[1] / (double) (1L << 30)));
            }
        }
        Files.writeString(out.resolve("host-rank-" + rank + ".txt"), String.valueOf(residentPeakGib()));
    }

    /** This process's peak resident memory (VmHWM in /proc/self/status), in GiB; 0 where that file is missing. */
    private static double residentPeakGib() throws java.io.IOException {
        Path status = Path.of("/proc/self/status");
        if (!Files.exists(status)) {
            return 0;
        }
        for (String line : Files.readAllLines(status)) {
            if (line.startsWith("VmHWM:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", "")) / (double) (1L << 20);   // kB
            }
        }
        return 0;
    }
}
