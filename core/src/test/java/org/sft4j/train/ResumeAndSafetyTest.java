package org.sft4j.train;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sft4j.data.TokenizedSet;
import org.sft4j.model.Decoder;
import org.sft4j.model.ModelFiles;
import org.sft4j.model.Parameter;
import org.sft4j.model.lora.LoraConfig;
import org.sft4j.nd.Tensors;
import org.sft4j.testing.Shared;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ResumeAndSafetyTest {

    static final Map<String, Object> RUN = Map.of("learning_rate", 5e-3, "max_steps", 10, "per_device_train_batch_size", 2,
            "gradient_accumulation_steps", 2, "lr_scheduler_type", "cosine", "warmup_steps", 2, "weight_decay", 0.01);
    static final TokenizedSet DATA = TrainFixtures.random(24, 6, 30, 3, 9);

    /** The model as a run would build it: fresh, or from the checkpoint it resumes. */
    private static Decoder model(boolean lora, ResumePoint resume) throws Exception {
        if (resume.resumes() && !lora) {
            return Decoder.load(resume.checkpoint().orElseThrow(), Device.cpu());
        }
        Decoder d = Decoder.load(Shared.fixtures("models/llama"), Device.cpu());
        if (resume.resumes()) {
            ModelFiles.loadAdapter(d, resume.checkpoint().orElseThrow());
        } else if (lora) {
            d.addLora(new LoraConfig(4, 8, 0.1, List.of("all")), 3);   // dropout on: its RNG must be restored too
        }
        return d;
    }

    /** Runs to max_steps (or until {@code stopAfter}), resuming from the latest checkpoint in {@code out} if asked. */
    private static TrainFixtures.Recorder run(Path out, boolean lora, boolean resume, int stopAfter) throws Exception {
        Map<String, Object> kv = new HashMap<>(RUN);
        ResumePoint from = resume ? ResumePoint.resolve("auto", out) : ResumePoint.none();
        try (Decoder m = model(lora, from)) {
            TrainFixtures.Recorder r = new TrainFixtures.Recorder();
            TrainResult result = TrainFixtures.fitStoppingAfter(TrainFixtures.args(out, kv), m, DATA, from, stopAfter, r);
            if (stopAfter > 0 && !resume) {
                assertEquals(TrainResult.Status.INTERRUPTED, result.status());
            }
            return r;
        }
    }

    private static void assertResumeRepeats(Path tmp, boolean lora) throws Exception {
        List<StepLog> straight = run(tmp.resolve("straight"), lora, false, -1).steps;
        assertEquals(10, straight.size());
        Path split = tmp.resolve("split");
        List<StepLog> first = run(split, lora, false, 5).steps;
        assertEquals(5, first.size(), "stopped at the step boundary after step 5");
        assertTrue(Files.exists(split.resolve("checkpoint-5/" + Checkpointer.STATE)), "the interrupt saved a checkpoint");
        List<StepLog> resumed = run(split, lora, true, -1).steps;
        assertEquals(5, resumed.size(), "steps 6..10");
        for (int i = 0; i < 5; i++) {
            StepLog a = straight.get(5 + i);
            StepLog b = resumed.get(i);
            assertEquals(a.step(), b.step());
            assertEquals(a.loss(), b.loss(), 1e-6 * Math.abs(a.loss()), "step " + a.step() + " loss");
            assertEquals(a.lr(), b.lr(), 1e-15);
        }
        List<String> steps = new ArrayList<>();
        for (String line : Files.readAllLines(split.resolve("metrics.jsonl"))) {
            steps.add(line.replaceAll(".*\"step\":(\\d+).*", "$1"));
        }
        assertEquals(List.of("1", "2", "3", "4", "5", "6", "7", "8", "9", "10"), steps, "metrics.jsonl has each step once");
    }

    @Test
    void resumedFullRunRepeatsStepsSixToTen(@TempDir Path tmp) throws Exception {
        assertResumeRepeats(tmp, false);
    }

    @Test
    void resumedLoraRunWithDropoutRepeatsStepsSixToTen(@TempDir Path tmp) throws Exception {
        assertResumeRepeats(tmp, true);
    }

    @Test
    void aHalfWrittenCheckpointIsNeverPickedUp(@TempDir Path tmp) throws Exception {
        run(tmp, false, false, 3);
        Files.createDirectories(tmp.resolve(".checkpoint-6.tmp-1-2"));          // what a kill during writing leaves
        Files.createDirectories(tmp.resolve("checkpoint-7"));                    // a directory without trainer_state.json
        assertEquals(tmp.resolve("checkpoint-3"), Checkpointer.resolveResume("auto", tmp));
    }

    @Test
    void nonFiniteLossStopsBeforeTheUpdateAndKeepsTheLastGoodCheckpoint(@TempDir Path tmp) throws Exception {
        run(tmp, false, false, 2);                                                // checkpoint-2
        Path good = Checkpointer.resolveResume("auto", tmp);
        try (Decoder m = Decoder.load(good, Device.cpu())) {
            Parameter w = m.baseParameters().get(0);
            float[] v = Tensors.toFloats(w.array());
            v[0] = Float.NaN;
            NDArray bad = m.manager().create(v, w.array().getShape());
            w.replace(Tensors.keep(bad, m.manager()));
            TrainResult r;
            try (Trainer t = TrainSetup.trainer(TrainFixtures.args(tmp, new HashMap<>(RUN)), m, TrainData.of(DATA),
                    ModelSource.of(Shared.fixtures("models/llama"), "llama"), ResumePoint.of(good), List.of())) {
                r = t.fit();
            }
            assertEquals(TrainResult.Status.NON_FINITE, r.status());
            assertTrue(r.message().contains("step 3") && r.message().contains("checkpoint-2"), r.message());
            assertEquals(good, Checkpointer.resolveResume("auto", tmp), "no checkpoint written after the bad step");
        }
    }

    @Test
    void keepLastNCheckpoints(@TempDir Path tmp) throws Exception {
        Map<String, Object> kv = new HashMap<>(RUN);
        kv.put("save_steps", 2);
        kv.put("keep_last_n_checkpoints", 2);
        try (Decoder m = model(false, ResumePoint.none())) {
            TrainResult r = TrainFixtures.fit(TrainFixtures.args(tmp, kv), m, DATA, List.of());
            assertEquals(List.of(tmp.resolve("checkpoint-8"), tmp.resolve("checkpoint-10")), r.checkpoints());
            assertFalse(Files.exists(tmp.resolve("checkpoint-6")));
        }
    }

    @Test
    void saveStrategyNoWritesNoCheckpoint(@TempDir Path tmp) throws Exception {
        Map<String, Object> kv = new HashMap<>(RUN);
        kv.put("save_steps", 2);
        kv.put("save_strategy", "no");   // HF Trainer's key: a benchmark or a dry run keeps nothing
        try (Decoder m = model(false, ResumePoint.none())) {
            TrainResult r = TrainFixtures.fit(TrainFixtures.args(tmp, kv), m, DATA, List.of());
            assertEquals(TrainResult.Status.COMPLETED, r.status());
            assertEquals(10, r.steps());
            assertEquals(List.of(), r.checkpoints());
        }
    }

    @Test
    void noNativeMemoryGrowthOverFiveHundredSteps(@TempDir Path tmp) throws Exception {
        Map<String, Object> kv = new HashMap<>(RUN);
        kv.put("max_steps", 520);
        kv.put("gradient_accumulation_steps", 1);
        kv.put("logging_steps", 10);
        try (Decoder m = model(true, ResumePoint.none())) {
            NDManager root = m.manager();
            int[] live = new int[3];
            TrainListener counter = new TrainListener() {
                @Override
                public void onStep(StepLog log) {
                    if (log.step() == 20) {
                        live[0] = root.getManagedArrays().size();
                    } else if (log.step() == 260) {
                        live[1] = root.getManagedArrays().size();
                    } else if (log.step() == 520) {
                        live[2] = root.getManagedArrays().size();
                    }
                }
            };
            TrainFixtures.fit(TrainFixtures.args(tmp, kv), m, DATA, List.of(counter));
            assertTrue(live[0] > 0);
            assertEquals(live[0], live[1], "live NDArrays after warm-up (step 20) vs step 260");
            assertEquals(live[0], live[2], "live NDArrays at step 520");
        }
    }
}
