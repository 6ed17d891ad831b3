package org.sft4j.train;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sft4j.config.SftConfig;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The worker launcher on this machine's CPU: fake workers stand in for the GPU training processes. */
class LauncherTest {

    private static List<String> fake(String... jvmOptions) {
        String java = ProcessHandle.current().info().command().orElse("java");
        List<String> cmd = new ArrayList<>(List.of(java, "-cp", System.getProperty("java.class.path")));
        cmd.addAll(List.of(jvmOptions));
        cmd.add(FakeWorker.class.getName());
        return cmd;
    }

    private static SftConfig config(Path out) {
        return SftConfig.of(Map.of("output_dir", out.toString(), "nproc_per_node", 3, "master_port", 29611));
    }

    /** Records what a listener receives. */
    static final class Recorder implements TrainListener {
        final List<String> calls = new ArrayList<>();
        StepLog step;

        @Override
        public void onStart(int startStep, int totalSteps) {
            calls.add("start " + startStep + "/" + totalSteps);
        }

        @Override
        public void onStep(StepLog log) {
            step = log;
            calls.add("step " + log.step());
        }

        @Override
        public void onValidation(int step, double valLoss) {
            calls.add("validation " + step + " " + valLoss);
        }

        @Override
        public void onCheckpoint(int step, Path dir) {
            calls.add("checkpoint " + step + " " + dir);
        }

        @Override
        public void onEnd(TrainResult result) {
            calls.add("end " + result.status());
        }
    }

    @Test
    void startsOneWorkerPerProcessWithTorchrunVariablesAndReplaysRankZerosEvents(@TempDir Path out) throws Exception {
        ByteArrayOutputStream console = new ByteArrayOutputStream();
        Recorder rec = new Recorder();
        Launcher launcher = new Launcher(new PrintStream(console, true, StandardCharsets.UTF_8));
        TrainResult r = launcher.launch(config(out), List.of(rec), null, fake());

        assertEquals(List.of("start 0/2", "step 1", "validation 1 NaN", "checkpoint 2 /tmp/run/checkpoint-2", "end COMPLETED"),
                rec.calls);
        assertEquals(new StepLog(1, 2, 0.5, 2.5, 1e-3, 0.75, 1234.5, 64, 1.5, 900), rec.step);
        assertEquals(TrainResult.Status.COMPLETED, r.status());
        assertEquals(2, r.steps());
        assertEquals(1.25, r.bestValLoss());
        assertTrue(Double.isNaN(r.firstValLoss()));
        assertEquals("finished at step 2", r.message());
        String printed = console.toString(StandardCharsets.UTF_8);
        Path config = out.resolve("launch.yaml");
        assertTrue(printed.contains("rank 0 of 3 local 0 master 127.0.0.1:29611 config " + config), printed);
        assertTrue(printed.contains("args train " + config + "\n"), "workers run `sft4j train CONFIG.yaml`: " + printed);
        assertTrue(printed.contains("[rank 1] rank 1 of 3 local 1 master 127.0.0.1:29611"), printed);
        assertTrue(printed.contains("[rank 2] rank 2 of 3 local 2"), printed);
        assertTrue(!printed.contains(WorkerEvents.PREFIX), "events are replayed, not printed: " + printed);
        // the workers read the same job: the file holds the configuration that was launched
        SftConfig back = SftConfig.read(config);
        assertEquals(3, back.train().nprocPerNode());
        assertEquals(out.toString(), back.train().outputDir());
        try (java.util.stream.Stream<Path> files = java.nio.file.Files.list(out)) {
            assertTrue(files.noneMatch(f -> f.getFileName().toString().endsWith(".tmp")), "no temporary file left");
        }
    }

    @Test
    void aLaunchFileThatAKilledLauncherLeftHalfWrittenCountsAsTheRunsOutput(@TempDir Path out) throws Exception {
        // TempFiles' name for launch.yaml (unique per launcher: several nodes may share output_dir), and the old one
        java.nio.file.Files.writeString(out.resolve("launch.yaml.4321-7.tmp"), "model_name");
        java.nio.file.Files.writeString(out.resolve("launch.yaml.tmp"), "model_name");
        java.nio.file.Files.writeString(out.resolve("notes.txt"), "mine");
        assertEquals(List.of(out.resolve("launch.yaml.4321-7.tmp"), out.resolve("launch.yaml.tmp")),
                RunDirectory.previousRun(out), "a run's own files only");
    }

    @Test
    void aFailingWorkerStopsTheOthersAndItsLastLinesAreReported(@TempDir Path out) {
        Launcher launcher = new Launcher(new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
        long t0 = System.nanoTime();
        IOException e = assertThrows(IOException.class, () -> launcher.launch(config(out), List.of(), null, fake("-Dfake.fail=1")));
        assertTrue(e.getMessage().startsWith("worker rank 1 exited with code 3"), e.getMessage());
        assertTrue(e.getMessage().contains("CUDA error: out of memory (pretend)"), e.getMessage());
        assertTrue((System.nanoTime() - t0) / 1e9 < 30, "the blocked ranks were stopped, not waited for");
    }

    @Test
    void anotherNodesLauncherNumbersItsRanksAfterNodeZerosAndReportsWithoutEvents(@TempDir Path out) throws Exception {
        ByteArrayOutputStream console = new ByteArrayOutputStream();
        Launcher launcher = new Launcher(new PrintStream(console, true, StandardCharsets.UTF_8));
        SftConfig node1 = SftConfig.of(Map.of("output_dir", out.toString(), "nproc_per_node", 2, "nnodes", 2, "node_rank", 1,
                "master_addr", "node0.example", "master_port", 29612, "device", "cpu"));
        TrainResult r = launcher.launch(node1, List.of(), null, fake());
        String printed = console.toString(StandardCharsets.UTF_8);
        assertTrue(printed.contains("[rank 2] rank 2 of 4 local 0 master node0.example:29612"), printed);
        assertTrue(printed.contains("[rank 3] rank 3 of 4 local 1 master node0.example:29612"), printed);
        // CPU ranks split the node's cores (unless the user set OMP_NUM_THREADS)
        String threads = System.getenv("OMP_NUM_THREADS") != null ? System.getenv("OMP_NUM_THREADS")
                : String.valueOf(Math.max(1, Runtime.getRuntime().availableProcessors() / 2));
        assertTrue(printed.contains("threads " + threads), printed);
        assertEquals(TrainResult.Status.COMPLETED, r.status());
        assertTrue(r.message().startsWith("node 1: its 2 workers finished"), r.message());
    }

    @Test
    void workerEnvironmentFollowsTorchrun() {
        assertNull(WorkerEnv.of(Map.of()));
        assertNull(WorkerEnv.of(Map.of("WORLD_SIZE", "1", "RANK", "0")));
        WorkerEnv w = WorkerEnv.of(Map.of("WORLD_SIZE", "4", "RANK", "3", "LOCAL_RANK", "1", "MASTER_ADDR", "node0",
                "MASTER_PORT", "29555"));
        assertEquals(new WorkerEnv(3, 1, 4, "node0", 29555), w);
        assertTrue(!w.main());
        assertTrue(Launcher.wanted(config(Path.of("x")).train()), "nproc_per_node 3 outside a worker launches");
        assertTrue(!Launcher.wanted(SftConfig.of(Map.of("output_dir", "x")).train()));
    }

    @Test
    void shardsTakeEveryWorldthRowAndCoverTheBatchOnce() {
        List<Integer> rows = List.of(10, 11, 12, 13, 14);
        assertEquals(List.of(10, 12, 14), ProcessReplicas.shard(rows, 0, 2));
        assertEquals(List.of(11, 13), ProcessReplicas.shard(rows, 1, 2));
        assertEquals(List.of(), ProcessReplicas.shard(List.of(10), 1, 2));
        List<Integer> all = new ArrayList<>();
        for (int r = 0; r < 3; r++) {
            all.addAll(ProcessReplicas.shard(rows, r, 3));
        }
        all.sort(Integer::compare);
        assertEquals(rows, all);
    }
}
