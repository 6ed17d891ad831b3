package org.sft4j.bench;

import ai.djl.Device;
import org.sft4j.config.SftConfig;
import org.sft4j.data.TokenizedSet;
import org.sft4j.model.Decoder;
import org.sft4j.model.ModelConfig;
import org.sft4j.nd.Compute;
import org.sft4j.tokenize.EncodedExample;
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

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * The multi-GPU training path end to end, as {@code sft4j train} with {@code nproc_per_node} runs it: the
 * {@link Launcher} starts one worker JVM per GPU, each runs the real {@link Trainer} (data parallel through the
 * native process group, gradients reduced in buckets during backward) and rank 0's events come back to this
 * process's listener. Only the data differs from the CLI: random token sequences made in memory, so the
 * benchmark machine needs no tokenizer or Parquet libraries.
 *
 * <pre>java ... LaunchCheck OUT MODEL_CONFIG_DIR NPROC PER_DEVICE_BATCH LENGTH STEPS fused|bf16|fp16|pure-bf16 [DEVICE [NNODES NODE_RANK]]</pre>
 * Prints each step's loss and tokens/s (as the CLI does) and the mean tokens/s after the first 5 steps.
 */
public final class LaunchCheck {

    public static void main(String[] args) throws Exception {
        if (args[0].equals("train")) {
            worker(SftConfig.read(Path.of(args[1])));   // train CONFIG.yaml, as the launcher starts sft4j
            return;
        }
        Map<String, Object> job = new HashMap<>();
        job.put("output_dir", args[0]);
        job.put("model_name_or_path", args[1]);
        job.put("nproc_per_node", Integer.parseInt(args[2]));
        job.put("per_device_train_batch_size", Integer.parseInt(args[3]));
        job.put("cutoff_len", Integer.parseInt(args[4]));
        job.put("max_steps", Integer.parseInt(args[5]));
        job.put("precision", switch (args[6]) {
            case "bf16" -> "bf16-mixed";
            case "fp16" -> "fp16-mixed";
            case "pure-bf16" -> "bf16-true";
            default -> "fp32";
        });
        job.put("device", args.length > 7 ? args[7] : "gpu");
        if (args.length > 9) {   // one node of several: the other nodes run the same command with their node rank
            job.put("nnodes", Integer.parseInt(args[8]));
            job.put("node_rank", Integer.parseInt(args[9]));
            job.put("master_port", 29533);
        }
        job.put("logging_steps", 1);
        job.put("save_steps", 100000);
        job.put("learning_rate", 1e-4);
        job.put("lr_scheduler_type", "constant");
        job.put("seed", 0);
        List<Double> rates = new ArrayList<>();
        TrainListener console = new TrainListener() {
            @Override
            public void onStep(StepLog s) {
                System.out.printf("step %d loss %.7f %.0f tok/s%n", s.step(), s.loss(), s.tokensPerSecond());
                if (s.step() > 5) {
                    rates.add(s.tokensPerSecond());
                }
            }
        };
        List<String> worker = List.of(ProcessHandle.current().info().command().orElse("java"), "-Xmx24g", "-cp",
                System.getProperty("java.class.path"), LaunchCheck.class.getName());
        TrainResult r = Launcher.run(SftConfig.of(job), List.of(console), null, worker);
        System.out.printf("%s; %d processes, mean %.0f tokens/s over steps 6..%d%n", r.message(), (int) job.get("nproc_per_node"),
                rates.stream().mapToDouble(Double::doubleValue).average().orElse(Double.NaN), r.steps());
    }

    private static void worker(SftConfig cfg) throws Exception {
        WorkerEnv env = WorkerEnv.fromEnvironment();
        int world = env == null ? 1 : env.world();
        int local = env == null ? 0 : env.localRank();
        Path modelDir = Path.of(cfg.model().modelNameOrPath());
        ModelConfig mc = ModelConfig.read(modelDir);
        int n = cfg.train().perDeviceTrainBatchSize() * world * cfg.train().maxSteps();
        TokenizedSet train = randomSet(n, cfg.data().cutoffLen(), mc.vocabSize());
        List<TrainListener> listeners = env == null || env.main() ? List.of(WorkerEvents.toStandardOutput()) : List.of();
        Device device = org.sft4j.nd.Engines.device(cfg.model().device());
        try (Decoder model = Decoder.randomInit(mc, 0, device.isGpu() ? Device.gpu(local) : device,
                Compute.forPrecision(cfg.train().precision()));
             Trainer t = TrainSetup.trainer(cfg.train(), model, TrainData.of(train), ModelSource.of(modelDir, "random-init"),
                     ResumePoint.none(), listeners)) {
            t.fit();
        }
    }

    /** The same examples on every rank: fully supervised random tokens of one length. */
    static TokenizedSet randomSet(int n, int length, int vocab) {
        Random rnd = new Random(0);
        List<EncodedExample> out = new ArrayList<>();
        for (int k = 0; k < n; k++) {
            int[] ids = new int[length];
            for (int t = 0; t < length; t++) {
                ids[t] = rnd.nextInt(vocab);
            }
            out.add(new EncodedExample("ex" + k, ids, ids.clone(), false));
        }
        return new TokenizedSet(out);
    }
}
