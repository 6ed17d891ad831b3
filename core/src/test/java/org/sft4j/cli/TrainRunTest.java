package org.sft4j.cli;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sft4j.nd.Distributed;
import org.sft4j.testing.Shared;
import org.sft4j.testing.TrainProcess;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * {@code sft4j train} as a user runs it: a child JVM running {@code org.sft4j.cli.Main train} on a tiny model made by
 * {@code init-model}, into an output_dir that a first run already used, with signals sent to it.
 */
class TrainRunTest {

    @TempDir
    static Path tmp;
    private static Path config;
    /** A finished run (2 steps, checkpoint-1 and checkpoint-2); each test trains into its own copy. */
    private static Path finished;

    @BeforeAll
    static void initModelAndFirstRun() throws Exception {
        Path model = TrainProcess.tinyModel(tmp.resolve("model"), 1);
        config = Files.writeString(tmp.resolve("job.yaml"), String.join("\n",
                "model_name_or_path: " + model,
                "template: chatml",
                "dataset: " + Shared.data("multi30k").resolve("val.{en,de}.gz"),
                "max_samples: 32",
                "cutoff_len: 96",
                "per_device_train_batch_size: 4",
                "learning_rate: 1.0e-3",
                "lr_scheduler_type: constant",
                "logging_steps: 1", ""));
        finished = tmp.resolve("finished");
        TrainProcess first = train(finished, "max_steps=2", "save_steps=1");
        assertEquals(0, first.exitCode(), first.output());
        assertTrue(Files.exists(finished.resolve("checkpoint-2/trainer_state.json")), first.output());
    }

    @Test
    void aSecondRunIntoAUsedOutputDirIsRefusedAndLeavesItUntouched() throws Exception {
        Path out = copyOfFinished("refused");
        Map<String, String> before = snapshot(out);
        TrainProcess again = train(out, "max_steps=2", "save_steps=1");
        assertEquals(1, again.exitCode(), again.output());
        assertEquals(List.of("sft4j train: output_dir " + out + " already holds a run (checkpoint-1, checkpoint-2, "
                + "metrics.jsonl, run.json); set resume_from_checkpoint: auto to continue it, overwrite_output_dir: true to "
                + "replace it, or choose another output_dir"), again.lines());
        assertEquals(before, snapshot(out), "nothing in output_dir was written, moved or removed");
    }

    @Test
    void overwriteStartsCleanAndSigtermSavesAtTheNextStepAndExits143() throws Exception {
        Path out = copyOfFinished("terminated");
        TrainProcess run = train(out, "overwrite_output_dir=true", "max_steps=100000", "save_steps=100000");
        run.await(line -> line.startsWith("step 2/100000"));
        run.signal("TERM");   // as a scheduler sends before it kills
        assertEquals(143, run.exitCode(), run.output());
        String last = run.lines().get(run.lines().size() - 1);
        assertTrue(last.matches("interrupted at step \\d+; model: .*checkpoint-\\d+"), run.output());
        int step = Integer.parseInt(last.replaceAll("interrupted at step (\\d+);.*", "$1"));
        assertTrue(step >= 2, last);
        assertTrue(Files.exists(out.resolve("checkpoint-" + step + "/trainer_state.json")), "saved at the step boundary");
        assertFalse(Files.exists(out.resolve("checkpoint-1")), "the earlier run's checkpoints were removed");
        List<String> metrics = Files.readAllLines(out.resolve("metrics.jsonl"));
        assertEquals(step, metrics.size(), "metrics.jsonl holds this run's steps only");
        assertTrue(metrics.get(0).startsWith("{\"step\":1,"), metrics.get(0));
    }

    @Test
    void aResumedRunSaysWhichCheckpointFirstCleansStagingAndCtrlCExits130() throws Exception {
        Path out = copyOfFinished("resumed");
        // what a kill during a checkpoint write leaves: a staging folder of a process that is gone
        Path staging = Files.createDirectories(out.resolve(".checkpoint-3.tmp-999999999-12345"));
        Files.writeString(staging.resolve("model.safetensors"), "half written");
        TrainProcess run = train(out, "resume_from_checkpoint=auto", "max_steps=100000", "save_steps=100000");
        run.await(line -> line.startsWith("step 4/100000"));
        assertFalse(Files.exists(staging), "the interrupted write's staging folder was removed");
        run.signal("INT");   // Ctrl-C
        assertEquals(130, run.exitCode(), run.output());
        List<String> lines = run.lines();
        assertEquals("resuming from " + out.resolve("checkpoint-2") + " (step 2)", lines.get(0), run.output());
        assertTrue(lines.get(1).startsWith("step 3/100000"), "training continues at step 3: " + run.output());
        assertFalse(run.output().contains("AutoNonVariableTypeMode"), "no libtorch deprecation warning: " + run.output());
        assertTrue(lines.stream().anyMatch(l -> l.startsWith("SIGINT: saving a checkpoint")), run.output());
        String last = lines.get(lines.size() - 1);
        int step = Integer.parseInt(last.replaceAll("interrupted at step (\\d+);.*", "$1"));
        assertTrue(Files.exists(out.resolve("checkpoint-" + step + "/trainer_state.json")), run.output());
    }

    /**
     * {@code zero_stage} in one process shards over a group of one, its weights read from the files a slice at a
     * time (here the whole of each tensor) instead of loaded whole first: the unsharded run's losses.
     */
    @Test
    void aOneProcessZeroThreeRunReadsItsWeightsBySlicesAndTrainsAsTheUnshardedRun() throws Exception {
        Path out = tmp.resolve("zero3");
        TrainProcess run = train(out, "max_steps=2", "save_steps=1", "zero_stage=3");
        assertEquals(0, run.exitCode(), run.output());
        Map<Integer, Double> unsharded = TrainProcess.losses(finished);
        Map<Integer, Double> zero3 = TrainProcess.losses(out);
        assertEquals(unsharded.keySet(), zero3.keySet());
        for (int step : unsharded.keySet()) {
            assertEquals(unsharded.get(step), zero3.get(step), 1e-5 * unsharded.get(step), "step " + step);
        }
        assertTrue(Files.exists(out.resolve("checkpoint-2/optimizer-00000-of-00001.safetensors")), run.output());
    }

    @Test
    void sigtermToTheLauncherOfAMultiProcessRunStopsEveryWorkerAtOneStepWithACheckpoint() throws Exception {
        assumeTrue(Distributed.available(), "needs the native extension's process groups (Gloo on CPU)");
        Path out = tmp.resolve("two-processes");
        TrainProcess run = train(out, "nproc_per_node=2", "device=cpu", "master_port=29617", "max_steps=100000",
                "save_steps=100000");
        run.await(line -> line.startsWith("step 3/100000"));
        List<ProcessHandle> workers = run.process.descendants().filter(p -> p.info().command().orElse("").contains("java"))
                .toList();
        assertEquals(2, workers.size(), "one worker JVM per process");
        run.signal("TERM");
        assertEquals(143, run.exitCode(), run.output());
        String last = run.lines().get(run.lines().size() - 1);
        int step = Integer.parseInt(last.replaceAll("interrupted at step (\\d+);.*", "$1"));
        assertTrue(Files.exists(out.resolve("checkpoint-" + step + "/trainer_state.json")), run.output());
        for (ProcessHandle w : workers) {
            assertTrue(w.onExit().get(30, TimeUnit.SECONDS) != null && !w.isAlive(), "worker " + w.pid() + " ended");
        }
    }

    private static Path copyOfFinished(String name) throws IOException {
        Path to = tmp.resolve(name);
        try (Stream<Path> all = Files.walk(finished)) {
            for (Path p : all.toList()) {
                Path target = to.resolve(finished.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(target);
                } else {
                    Files.copy(p, target, StandardCopyOption.COPY_ATTRIBUTES);
                }
            }
        }
        return to;
    }

    /** Every file under {@code dir} with its size and modification time. */
    private static Map<String, String> snapshot(Path dir) throws IOException {
        Map<String, String> files = new TreeMap<>();
        try (Stream<Path> all = Files.walk(dir)) {
            for (Path p : all.toList()) {
                files.put(dir.relativize(p).toString(), Files.isDirectory(p) ? "dir"
                        : Files.size(p) + " bytes, " + Files.getLastModifiedTime(p));
            }
        }
        return files;
    }

    private static TrainProcess train(Path outputDir, String... overrides) throws IOException {
        return TrainProcess.start(config, outputDir, List.of(), Map.of(), 180, overrides);
    }
}
