package org.sft4j.train;

import ai.djl.Device;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sft4j.config.TrainArgs;
import org.sft4j.data.TokenizedSet;
import org.sft4j.model.Decoder;
import org.sft4j.model.lora.LoraConfig;
import org.sft4j.model.io.SafetensorsFile;
import org.sft4j.nd.ProcessGroup;
import org.sft4j.testing.Expected;
import org.sft4j.testing.Numerics;
import org.sft4j.testing.Shared;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * ZeRO stages 1, 2 and 3 on two ranks (threads over {@link InProcessGroup}, the portable path CI runs) against one
 * process on the same global batch: the same losses step by step, and the same weights in the checkpoint the ranks
 * consolidate.
 */
class ZeroShardingTest {

    private static final TokenizedSet DATA = TrainFixtures.random(24, 6, 30, 3, 17);
    /** 7 examples in batches of 3: one rank scores 2 batches, the other 1 and runs an empty pass beside the third. */
    private static final TokenizedSet VAL = TrainFixtures.random(7, 6, 30, 3, 18);

    private static TrainData data() {
        return new TrainData(DATA, VAL, null, false);
    }

    /** What a run leaves: its losses, its validation losses and its last checkpoint. */
    record Run(double[] losses, double[] gradNorms, double[] vals, Path checkpoint) {
        Run(TrainFixtures.Recorder rec, Path checkpoint) {
            this(rec.steps.stream().mapToDouble(StepLog::loss).toArray(),
                    rec.steps.stream().mapToDouble(StepLog::gradNorm).toArray(),
                    rec.vals.stream().mapToDouble(v -> v[1]).toArray(), checkpoint);
        }
    }

    static Map<String, Object> job(int perDevice, int accumulation, int steps) {
        Map<String, Object> kv = new HashMap<>();
        kv.put("learning_rate", 3e-3);
        kv.put("max_steps", steps);
        kv.put("per_device_train_batch_size", perDevice);
        kv.put("gradient_accumulation_steps", accumulation);
        kv.put("lr_scheduler_type", "cosine");
        kv.put("warmup_steps", 2);
        kv.put("weight_decay", 0.01);
        kv.put("max_grad_norm", 0.5);   // clipping engages: the global norm is taken over both ranks' shards
        return kv;
    }

    private static Decoder model(LoraConfig lora, org.sft4j.nd.Precision precision) throws Exception {
        return model(lora, precision, false);
    }

    /** The fixture Llama; {@code toShard}: loaded as a sharded run loads it, each rank reading only its slices. */
    static Decoder model(LoraConfig lora, org.sft4j.nd.Precision precision, boolean toShard) throws Exception {
        org.sft4j.nd.Compute compute = org.sft4j.nd.Compute.forPrecision(precision);
        Path dir = Shared.fixtures("models/llama");
        Decoder m = toShard ? Decoder.loadToShard(dir, Device.cpu(), compute, lora != null)   // as TrainSetup does
                : Decoder.load(dir, Device.cpu(), compute, false);
        if (lora != null) {
            m.addLora(lora, 5);
        }
        return m;
    }

    static Run single(Path out, Map<String, Object> kv, LoraConfig lora) throws Exception {
        return single(out, kv, lora, null);
    }

    /** One process, from a fresh start or from {@code resume} (a checkpoint of a full fine-tune). */
    static Run single(Path out, Map<String, Object> kv, LoraConfig lora, Path resume) throws Exception {
        TrainFixtures.Recorder rec = new TrainFixtures.Recorder();
        ResumePoint from = resume == null ? ResumePoint.none() : ResumePoint.of(resume);
        TrainArgs args = TrainFixtures.args(out, kv);
        try (Decoder m = resume == null ? model(lora, args.precision()) : Decoder.load(resume, Device.cpu(), args.precision());
             Trainer t = TrainSetup.trainer(args, m, data(), ModelSource.named("llama"),
                     from, List.of(rec))) {
            TrainResult r = t.fit();
            return new Run(rec, r.checkpoints().get(r.checkpoints().size() - 1));
        }
    }

    /** The same job on {@code world} ranks, each a thread with its own copy of the model. */
    static Run sharded(Path out, Map<String, Object> kv, LoraConfig lora, int world) throws Exception {
        return sharded(out, kv, lora, world, null);
    }

    /** As above, from {@code resume} (a checkpoint of a full fine-tune) when given. */
    static Run sharded(Path out, Map<String, Object> kv, LoraConfig lora, int world, Path resume) throws Exception {
        return sharded(out, kv, lora, world, resume, false);
    }

    /** As above; {@code toShard}: each rank reads only its slices of the weights, as {@code sft4j train} loads them. */
    static Run sharded(Path out, Map<String, Object> kv, LoraConfig lora, int world, Path resume, boolean toShard)
            throws Exception {
        List<ProcessGroup> groups = InProcessGroup.ranks(world);
        ExecutorService pool = Executors.newFixedThreadPool(world);
        try {
            List<Future<Run>> runs = new ArrayList<>();
            for (int r = 0; r < world; r++) {
                ProcessGroup g = groups.get(r);
                runs.add(pool.submit(() -> {
                    TrainFixtures.Recorder rec = new TrainFixtures.Recorder();
                    TrainArgs args = TrainFixtures.args(out, kv);
                    ResumePoint from = resume == null ? ResumePoint.none() : ResumePoint.of(resume);
                    try (Decoder m = resume == null ? model(lora, args.precision(), toShard) : toShard
                            ? Decoder.loadToShard(resume, Device.cpu(), org.sft4j.nd.Compute.forPrecision(args.precision()), false)
                            : Decoder.load(resume, Device.cpu(), args.precision());
                         Trainer t = TrainSetup.trainer(args, m, data(), ModelSource.named("llama"),
                                 from, List.of(rec), LossScaling.NONE, g)) {
                        TrainResult result = t.fit();
                        List<Path> ckpts = result.checkpoints();
                        return new Run(rec, ckpts.isEmpty() ? null : ckpts.get(ckpts.size() - 1));
                    }
                }));
            }
            List<Run> results = new ArrayList<>();
            List<Throwable> failures = new ArrayList<>();
            for (Future<Run> f : runs) {
                try {
                    results.add(f.get(10, TimeUnit.MINUTES));
                } catch (java.util.concurrent.ExecutionException e) {
                    failures.add(e.getCause());
                }
            }
            if (!failures.isEmpty()) {
                AssertionError error = new AssertionError("a rank failed: " + failures);
                failures.forEach(error::addSuppressed);
                throw error;
            }
            for (int r = 1; r < world; r++) {
                assertEquals(0, results.get(r).losses().length, "only rank 0 reports steps");
            }
            return results.get(0);
        } finally {
            pool.shutdownNow();
        }
    }

    static void assertSameRun(Run one, Run two, String what, boolean lora) throws Exception {
        assertEquals(one.losses().length, two.losses().length, what + ": steps");
        for (int s = 0; s < one.losses().length; s++) {
            assertTrue(Numerics.relError(two.losses()[s], one.losses()[s]) < 1e-5, what + ": loss of step " + (s + 1) + " "
                    + two.losses()[s] + " vs one process's " + one.losses()[s]);
        }
        String file = lora ? "adapter_model.safetensors" : "model.safetensors";
        try (Expected a = new Expected(one.checkpoint().resolve(file));
             Expected b = new Expected(two.checkpoint().resolve(file))) {
            assertEquals(a.names(), b.names(), what + ": the consolidated checkpoint holds every tensor");
            for (String n : a.names()) {
                double err = Numerics.relError(b.floats(n), a.floats(n));
                assertTrue(err < 1e-5, what + ": " + n + " differs by " + err);
            }
        }
    }

    @Test
    void stagesOneTwoAndThreeOnTwoRanksTrainAsOneProcess(@TempDir Path tmp) throws Exception {
        Map<String, Object> alone = job(4, 2, 10);
        alone.put("validate_every_n_steps", 5);
        alone.put("per_device_eval_batch_size", 3);
        Run one = single(tmp.resolve("one"), alone, null);
        assertEquals(10, one.losses().length);
        assertEquals(3, one.vals().length, "validated at steps 0, 5 and 10");
        for (int stage = 1; stage <= 3; stage++) {
            Map<String, Object> kv = job(2, 2, 10);
            kv.put("zero_stage", stage);
            kv.put("validate_every_n_steps", 5);
            kv.put("per_device_eval_batch_size", 3);
            Run two = sharded(tmp.resolve("zero" + stage), kv, null, 2);
            assertSameRun(one, two, "ZeRO-" + stage, false);
            for (int v = 0; v < 3; v++) {
                assertTrue(Numerics.relError(two.vals()[v], one.vals()[v]) < 1e-5, "ZeRO-" + stage + " validation " + v
                        + ": " + two.vals()[v] + " vs " + one.vals()[v]);
            }
        }
    }

    @Test
    void zeroThreeWithLoraCheckpointingAndAccumulation(@TempDir Path tmp) throws Exception {
        LoraConfig lora = new LoraConfig(4, 8, 0.0, List.of("all"));
        Run one = single(tmp.resolve("one"), job(4, 2, 6), lora);
        Map<String, Object> kv = job(2, 2, 6);
        kv.put("zero_stage", 3);
        kv.put("gradient_checkpointing", true);
        assertSameRun(one, sharded(tmp.resolve("zero3"), kv, lora, 2), "ZeRO-3 LoRA, checkpointed", true);
    }

    @Test
    void aShardedCheckpointResumesOnAnyNumberOfRanksWithTheSameLosses(@TempDir Path tmp) throws Exception {
        Map<String, Object> kv = job(2, 1, 6);
        kv.put("zero_stage", 3);
        kv.put("save_steps", 3);
        Run whole = sharded(tmp.resolve("whole"), kv, null, 2);
        Path three = tmp.resolve("whole/checkpoint-3");
        assertTrue(java.nio.file.Files.exists(three.resolve("optimizer-00001-of-00002.safetensors")), "each rank wrote its moments");
        double[] last = java.util.Arrays.copyOfRange(whole.losses(), 3, 6);
        // the same two ranks, four ranks at stage 2 (the same global batch), and one process without sharding
        Run two = sharded(tmp.resolve("two"), kv, null, 2, three);
        Map<String, Object> z2 = new HashMap<>(kv);
        z2.put("zero_stage", 2);
        z2.put("per_device_train_batch_size", 1);
        Run four = sharded(tmp.resolve("four"), z2, null, 4, three);
        Map<String, Object> alone = new HashMap<>(kv);
        alone.remove("zero_stage");
        alone.put("per_device_train_batch_size", 4);
        Run one = single(tmp.resolve("one"), alone, null, three);
        for (Run r : List.of(two, four, one)) {
            assertEquals(3, r.losses().length, "steps 4 to 6");
            for (int s = 0; s < 3; s++) {
                assertTrue(Numerics.relError(r.losses()[s], last[s]) < 1e-5, "step " + (s + 4) + ": " + r.losses()[s]
                        + " vs the uninterrupted run's " + last[s]);
            }
        }
    }

    @Test
    void kahanBuffersOfAShardedBf16RunAreCheckpointedAndResumed(@TempDir Path tmp) throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(org.sft4j.nd.NativeOps.available(), "bf16-true needs the native extension");
        Map<String, Object> kv = job(2, 1, 6);
        kv.put("zero_stage", 3);
        kv.put("save_steps", 3);
        kv.put("precision", "bf16-true");
        kv.put("bf16_update", "kahan");
        kv.put("learning_rate", 1e-4);   // updates under half a bf16 step for most weights: the buffers carry them
        Run whole = sharded(tmp.resolve("whole"), kv, null, 2);
        Path three = tmp.resolve("whole/checkpoint-3");
        for (int rank = 0; rank < 2; rank++) {
            try (SafetensorsFile f = SafetensorsFile.open(three.resolve(OptimizerFiles.rankFile(rank, 2)))) {
                assertTrue(f.tensors().keySet().stream().anyMatch(k -> k.startsWith("c.")),
                        "rank " + rank + " checkpointed its Kahan buffers: " + f.tensors().keySet());
            }
        }
        try (SafetensorsFile f = SafetensorsFile.open(three.resolve("model.safetensors"))) {
            assertTrue(f.tensors().values().stream().allMatch(t -> t.dtype() == org.sft4j.model.io.StDType.BF16),
                    "save_dtype auto: a bf16-true run's consolidated weights stay bf16 (half of fp32 on disk)");
        }
        Run resumed = sharded(tmp.resolve("resumed"), kv, null, 2, three);
        double[] last = java.util.Arrays.copyOfRange(whole.losses(), 3, 6);
        assertEquals(3, resumed.losses().length, "steps 4 to 6");
        for (int s = 0; s < 3; s++) {
            assertEquals(last[s], resumed.losses()[s], 1e-6 * Math.abs(last[s]), "step " + (s + 4));
        }
    }

    /**
     * bf16-mixed sharded as DeepSpeed's bf16 and FSDP2's MixedPrecisionPolicy(param_dtype=bf16): the layers compute from
     * a bf16 working copy, so the first step's loss is bf16-true's (the same bf16 weights, the same bf16 compute) and
     * not the unsharded bf16-mixed's (fp32 residual stream); the masters stay fp32 (the checkpoint is fp32, and a
     * resume repeats the same losses); its losses follow the unsharded run's (1.3e-4 apart at most here).
     */
    @Test
    void bf16MixedShardsAWorkingCopyInBf16OverFp32Masters(@TempDir Path tmp) throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(org.sft4j.nd.NativeOps.available(), "bf16 needs the native extension");
        Map<String, Object> alone = job(4, 1, 6);
        alone.put("precision", "bf16-true");
        Run bf16True = single(tmp.resolve("true"), alone, null);
        alone.put("precision", "bf16-mixed");
        Run mixed = single(tmp.resolve("mixed"), alone, null);
        Map<String, Object> kv = job(2, 1, 6);
        kv.put("zero_stage", 3);
        kv.put("precision", "bf16-mixed");
        kv.put("save_steps", 3);
        Run sharded = sharded(tmp.resolve("zero3"), kv, null, 2);
        // on this small model bf16-true and autocast differ by 3.7e-6 at step 1; the ranks' sums, by 3.5e-8
        double first = sharded.losses()[0];
        double fromTrue = Numerics.relError(first, bf16True.losses()[0]);
        double fromMixed = Numerics.relError(first, mixed.losses()[0]);
        assertTrue(fromTrue < 1e-6 && fromMixed > 20 * fromTrue, "step 1: " + first + ", bf16-true's " + bf16True.losses()[0]
                + ", unsharded bf16-mixed's " + mixed.losses()[0]);
        for (int s = 0; s < 6; s++) {
            assertTrue(Numerics.relError(sharded.losses()[s], mixed.losses()[s]) < 1e-3, "step " + (s + 1) + ": "
                    + sharded.losses()[s] + " vs unsharded bf16-mixed's " + mixed.losses()[s]);
        }
        alone.put("zero_stage", 3);   // one process, sharded over a group of one: the same rules as two ranks
        Run one = single(tmp.resolve("one"), alone, null);
        assertTrue(Numerics.relError(one.losses()[0], bf16True.losses()[0]) < 1e-9, "one process computes in bf16 too");
        for (int s = 0; s < 6; s++) {   // the ranks' bf16 gradients are summed in another order: 5.8e-5 apart here
            assertTrue(Numerics.relError(one.losses()[s], sharded.losses()[s]) < 2e-4, "step " + (s + 1) + ": one process "
                    + one.losses()[s] + ", two ranks " + sharded.losses()[s]);
        }
        Path three = tmp.resolve("zero3/checkpoint-3");
        try (SafetensorsFile f = SafetensorsFile.open(three.resolve("model.safetensors"))) {
            assertTrue(f.tensors().values().stream().allMatch(t -> t.dtype() == org.sft4j.model.io.StDType.F32),
                    "the fp32 masters are what is saved");
        }
        Run resumed = sharded(tmp.resolve("resumed"), kv, null, 2, three);
        for (int s = 0; s < 3; s++) {
            assertEquals(sharded.losses()[s + 3], resumed.losses()[s], 1e-6 * sharded.losses()[s + 3], "resumed step " + (s + 4));
        }
    }

    /** The same with LoRA on every projection, activation checkpointing and accumulation: fp32 adapters saved. */
    @Test
    void bf16MixedShardedLoraFollowsTheUnshardedRun(@TempDir Path tmp) throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(org.sft4j.nd.NativeOps.available(), "bf16 needs the native extension");
        LoraConfig lora = new LoraConfig(4, 8, 0.0, List.of("all"));
        Map<String, Object> alone = job(4, 2, 6);
        alone.put("precision", "bf16-mixed");
        Run one = single(tmp.resolve("one"), alone, lora);
        Map<String, Object> kv = job(2, 2, 6);
        kv.put("precision", "bf16-mixed");
        kv.put("zero_stage", 3);
        kv.put("gradient_checkpointing", true);
        Run two = sharded(tmp.resolve("zero3"), kv, lora, 2);
        for (int s = 0; s < 6; s++) {
            assertTrue(Numerics.relError(two.losses()[s], one.losses()[s]) < 1e-3, "step " + (s + 1) + ": "
                    + two.losses()[s] + " vs unsharded " + one.losses()[s]);
        }
        try (SafetensorsFile f = SafetensorsFile.open(two.checkpoint().resolve("adapter_model.safetensors"))) {
            assertTrue(!f.tensors().isEmpty() && f.tensors().values().stream()
                    .allMatch(t -> t.dtype() == org.sft4j.model.io.StDType.F32), "fp32 adapters");
        }
    }

    /** zero_stage in one process shards over a group of one (as DeepSpeed on one GPU): it trains as the unsharded run. */
    @Test
    void oneProcessShardsOverAGroupOfOne(@TempDir Path tmp) throws Exception {
        Map<String, Object> alone = job(4, 2, 6);
        Run plain = single(tmp.resolve("plain"), alone, null);
        alone.put("zero_stage", 3);
        alone.put("save_steps", 6);
        Run zero = single(tmp.resolve("zero3"), alone, null);
        assertSameRun(plain, zero, "ZeRO-3 on one process", false);
        assertTrue(java.nio.file.Files.exists(tmp.resolve("zero3/checkpoint-6").resolve(OptimizerFiles.rankFile(0, 1))),
                "its one optimizer shard");
    }
}
