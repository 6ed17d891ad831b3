package org.sft4j.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sft4j.nd.Distributed;
import org.sft4j.testing.Shared;
import org.sft4j.testing.TrainProcess;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * ZeRO over real process groups: {@code sft4j train} as a user runs it, two CPU processes over Gloo against one
 * process on the same global batch, a sharded run killed with SIGKILL and resumed, its consolidated checkpoint
 * generating, and a rank killed mid-run stopping the other. Runs where the native extension's distributed library is
 * built (skipped otherwise, as in CI: {@code ZeroShardingTest} proves the same sharding there over an in-process group).
 */
class ShardedRunTest {

    @TempDir
    static Path tmp;
    private static Path config;
    /** Losses of one process, steps 1 to 10 (global batch 4). */
    private static Map<Integer, Double> oneProcess;

    @BeforeAll
    static void initModelAndOneProcess() throws Exception {
        assumeTrue(Distributed.available(), "needs the native extension's process groups (Gloo on CPU)");
        Path model = TrainProcess.tinyModel(tmp.resolve("model"), 2);
        config = Files.writeString(tmp.resolve("job.yaml"), String.join("\n",
                "model_name_or_path: " + model,
                "template: chatml",
                "dataset: " + Shared.data("multi30k").resolve("val.{en,de}.gz"),
                "max_samples: 64",
                "cutoff_len: 96",
                "learning_rate: 1.0e-3",
                "lr_scheduler_type: cosine",
                "warmup_steps: 2",
                "weight_decay: 0.01",
                "device: cpu",
                "logging_steps: 1",
                "max_steps: 10", ""));
        TrainProcess one = train(tmp.resolve("one"), Map.of(), "per_device_train_batch_size=4");
        assertEquals(0, one.exitCode(), one.output());
        oneProcess = TrainProcess.losses(tmp.resolve("one"));
        assertEquals(10, oneProcess.size());
    }

    @Test
    void twoGlooProcessesAtZeroStagesOneTwoAndThreeTrainAsOneProcess() throws Exception {
        for (int stage = 1; stage <= 3; stage++) {
            Path out = tmp.resolve("zero" + stage);
            TrainProcess two = train(out, Map.of(), "nproc_per_node=2", "master_port=" + (29701 + stage),
                    "per_device_train_batch_size=2", "zero_stage=" + stage);
            assertEquals(0, two.exitCode(), two.output());
            assertSameLosses(TrainProcess.losses(out), "ZeRO-" + stage);
            assertTrue(Files.exists(out.resolve("checkpoint-10/optimizer-00001-of-00002.safetensors")), "each rank's moments");
        }
    }

    @Test
    void aShardedRunKilledWithSigkillResumesWithTheSameLossesAndItsCheckpointGenerates() throws Exception {
        Path out = tmp.resolve("killed");
        TrainProcess run = train(out, Map.of(), "nproc_per_node=2", "master_port=29711", "per_device_train_batch_size=2",
                "zero_stage=3", "gradient_checkpointing=true", "save_steps=3");
        run.await(line -> line.startsWith("step 5/10"));
        List<ProcessHandle> workers = run.process.descendants().filter(p -> p.info().command().orElse("").contains("java"))
                .toList();
        assertEquals(2, workers.size(), "one worker JVM per rank");
        run.process.destroyForcibly();   // SIGKILL: the launcher gets no chance to stop its workers
        for (ProcessHandle w : workers) {
            w.onExit().get(60, TimeUnit.SECONDS);   // they notice their launcher is gone and stop
        }
        Map<Integer, Double> before = TrainProcess.losses(out);
        TrainProcess resumed = train(out, Map.of(), "nproc_per_node=2", "master_port=29712", "per_device_train_batch_size=2",
                "zero_stage=3", "gradient_checkpointing=true", "save_steps=3", "resume_from_checkpoint=auto");
        assertEquals(0, resumed.exitCode(), resumed.output());
        // the workers may save checkpoint 9 before they notice their launcher is gone (a fast native step)
        assertTrue(resumed.lines().get(0).matches("resuming from .*checkpoint-([369]) \\(step \\1\\)"), resumed.output());
        Map<Integer, Double> after = TrainProcess.losses(out);
        assertEquals(10, after.size(), "metrics.jsonl continues where the checkpoint was: " + after.keySet());
        assertTrue(before.size() >= 5, "the killed run got to step 5 at least");
        assertSameLosses(after, "ZeRO-3 killed and resumed");

        // the checkpoint is one process's: generation reads it as any other
        ByteArrayOutputStream printed = new ByteArrayOutputStream();
        PrintStream stdout = System.out;
        int code;
        try {
            System.setOut(new PrintStream(printed, true, StandardCharsets.UTF_8));
            code = Main.run("generate", "--model-dir", out.resolve("checkpoint-10").toString(), "--prompt-ids", "1,2,3",
                    "--max-new-tokens", "4", "--ids");
        } finally {
            System.setOut(stdout);
        }
        assertEquals(0, code);
        JsonNode ids = new ObjectMapper().readTree(printed.toString(StandardCharsets.UTF_8).trim());
        assertEquals(4, ids.size(), printed.toString(StandardCharsets.UTF_8));
        // and `sft4j eval` scores each of the run's checkpoints with BLEU
        assertEquals(0, Main.run("eval", config.toString(), "--set", "output_dir=" + out, "--set", "test_dataset="
                + Shared.data("multi30k").resolve("test_2016_flickr.{en,de}.gz"), "--set", "eval_max_samples=3", "--set",
                "max_new_tokens=3", "--set", "eval_base=false"));
        JsonNode scores = new ObjectMapper().readTree(out.resolve("eval/scores.json").toFile());
        assertTrue(scores.toString().contains("checkpoint-10") && scores.toString().contains("bleu"), scores.toString());
    }

    @Test
    void aRankKilledMidRunStopsTheOtherWithItsRankNamed() throws Exception {
        // two ranks started as torchrun starts them (no sft4j launcher): rank 0 prepares the data, rank 1 waits for it
        Path out = tmp.resolve("torchrun");
        List<TrainProcess> ranks = new ArrayList<>();
        for (int r = 0; r < 2; r++) {
            ranks.add(train(out, Map.of("RANK", String.valueOf(r), "LOCAL_RANK", String.valueOf(r), "WORLD_SIZE", "2",
                    "MASTER_ADDR", "127.0.0.1", "MASTER_PORT", "29721", "OMP_NUM_THREADS", "1"),
                    "zero_stage=2", "per_device_train_batch_size=2", "max_steps=100000", "save_steps=100000"));
        }
        ranks.get(0).await(line -> line.startsWith("step 3/100000"));
        long t0 = System.nanoTime();
        ranks.get(1).process.destroyForcibly();
        assertEquals(1, ranks.get(0).exitCode(), ranks.get(0).output());
        assertTrue((System.nanoTime() - t0) / 1e9 < 60, "stopped within the heartbeat timeout");
        String last = ranks.get(0).lines().get(ranks.get(0).lines().size() - 1);
        assertEquals("sft4j train: rank 0 stops: rank 1 sent no heartbeat for 5 s (the process died or its host is "
                + "unreachable)", last, ranks.get(0).output());
    }

    private static void assertSameLosses(Map<Integer, Double> got, String what) {
        for (Map.Entry<Integer, Double> e : got.entrySet()) {
            double want = oneProcess.get(e.getKey());
            assertTrue(Math.abs(e.getValue() - want) <= 1e-5 * Math.abs(want), what + ": step " + e.getKey() + " loss "
                    + e.getValue() + " vs one process's " + want);
        }
    }

    /** Step to loss, from a run's metrics.jsonl. */
    private static TrainProcess train(Path outputDir, Map<String, String> env, String... overrides) throws IOException {
        return TrainProcess.start(config, outputDir, List.of("-Dsft4j.heartbeatTimeout=5"), env, 300, overrides);
    }
}
