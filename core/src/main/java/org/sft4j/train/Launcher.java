package org.sft4j.train;

import org.sft4j.base.TempFiles;
import org.sft4j.config.SftConfig;
import org.sft4j.config.TrainArgs;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * Starts this node's worker JVMs of a multi-GPU run (what torchrun does for PyTorch) and follows them: each
 * worker runs {@code sft4j train} on the same configuration with torchrun's variables set (see
 * {@link WorkerEnv}); rank 0's events come back as the same {@link TrainListener} calls a one-process run
 * makes, on the caller's thread; the other output is printed with its rank. When a worker fails the others are
 * stopped and the failure, with that worker's last lines, is thrown. The caller never touches a GPU.
 */
public final class Launcher implements Stoppable {

    private static final int TAIL_LINES = 30;

    private final List<Process> workers = new ArrayList<>();
    private final PrintStream console;
    private volatile boolean stopping;

    Launcher(PrintStream console) {
        this.console = console;
    }

    /** Whether {@code args} asks for more than one process and this process is not already one of them. */
    public static boolean wanted(TrainArgs args) {
        return (args.nprocPerNode() > 1 || args.nnodes() > 1) && WorkerEnv.fromEnvironment() == null;
    }

    /**
     * Runs the job in {@code nproc_per_node} worker processes on this node and waits for them.
     *
     * @param started receives the launcher so the caller can stop the run at a step boundary
     */
    public static TrainResult run(SftConfig cfg, List<TrainListener> listeners, java.util.function.Consumer<? super Stoppable> started)
            throws IOException {
        return run(cfg, listeners, started, workerCommand());
    }

    /** As {@link #run(SftConfig, List, java.util.function.Consumer)} with another worker command (benchmarks, tests). */
    public static TrainResult run(SftConfig cfg, List<TrainListener> listeners, java.util.function.Consumer<? super Stoppable> started,
                                  List<String> workerCommand) throws IOException {
        return new Launcher(System.out).launch(cfg, listeners, started, workerCommand);
    }

    /** The JVM running this code, with its class path: the workers run the same sft4j. */
    static List<String> workerCommand() {
        String java = ProcessHandle.current().info().command().orElse("java");
        return List.of(java, "-cp", System.getProperty("java.class.path"), "org.sft4j.cli.Main");
    }

    TrainResult launch(SftConfig cfg, List<TrainListener> listeners, java.util.function.Consumer<? super Stoppable> started,
                       List<String> command) throws IOException {
        TrainArgs a = cfg.train();
        int local = a.nprocPerNode();
        int world = local * a.nnodes();
        Path out = Files.createDirectories(Path.of(a.outputDir()));
        Path config = out.resolve("launch.yaml");
        // a temporary name of this launcher's own: the launchers of several nodes may share output_dir
        TempFiles.write(config, tmp -> Files.writeString(tmp, cfg.toYaml(), StandardCharsets.UTF_8));
        console.printf("sft4j: starting %d worker processes on this node (node %d of %d, world size %d, master %s:%d)%n",
                local, a.nodeRank(), a.nnodes(), world, a.masterAddr(), a.masterPort());

        long t0 = System.nanoTime();
        BlockingQueue<String[]> lines = new LinkedBlockingQueue<>();   // {rank, line}; {rank, null} when it ends
        List<Deque<String>> tails = new ArrayList<>();
        for (int i = 0; i < local; i++) {
            int rank = a.nodeRank() * local + i;
            List<String> cmd = new ArrayList<>(command);
            cmd.addAll(List.of("train", config.toString()));   // sft4j train CONFIG.yaml
            ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
            Map<String, String> env = pb.environment();
            env.put("RANK", String.valueOf(rank));
            env.put("LOCAL_RANK", String.valueOf(i));
            env.put("LOCAL_WORLD_SIZE", String.valueOf(local));   // as torchrun: the ranks sharing this node
            env.put("WORLD_SIZE", String.valueOf(world));
            env.put("MASTER_ADDR", a.masterAddr());
            env.put("MASTER_PORT", String.valueOf(a.masterPort()));
            env.put(WorkerEnv.LAUNCHER_PID, String.valueOf(ProcessHandle.current().pid()));   // a worker outliving it stops
            if ("cpu".equals(cfg.model().device()) && !env.containsKey("OMP_NUM_THREADS")) {
                // CPU ranks share this node's cores instead of each taking all of them, as torchrun limits them
                env.put("OMP_NUM_THREADS", String.valueOf(Math.max(1, Runtime.getRuntime().availableProcessors() / local)));
            }
            Process p = pb.start();
            workers.add(p);
            tails.add(new ArrayDeque<>());
            Thread reader = new Thread(() -> pump(p, rank, lines), "sft4j-worker-" + rank);
            reader.setDaemon(true);
            reader.start();
        }
        // a launcher that ends (a second Ctrl-C, an error) takes its workers with it
        Thread reaper = new Thread(this::stopAll, "sft4j-stop-workers");
        Runtime.getRuntime().addShutdownHook(reaper);
        try {
            if (started != null) {
                started.accept(this);
            }
            return follow(a, local, lines, tails, t0, out, listeners);
        } finally {
            stopAll();   // normally all have ended already
            try {
                Runtime.getRuntime().removeShutdownHook(reaper);
            } catch (IllegalStateException shuttingDown) {
                // the hook runs
            }
        }
    }

    /** Replays rank 0's events and waits for every worker; a failing one stops the others. */
    private TrainResult follow(TrainArgs a, int local, BlockingQueue<String[]> lines, List<Deque<String>> tails, long t0,
                               Path out, List<TrainListener> listeners) throws IOException {
        TrainResult result = null;
        int open = local;
        String failure = null;
        try {
            while (open > 0) {
                String[] item = lines.poll(1, TimeUnit.SECONDS);
                if (item == null) {
                    continue;
                }
                int rank = Integer.parseInt(item[0]);
                int i = rank - a.nodeRank() * local;
                if (item[1] == null) {
                    open--;
                    int code = workers.get(i).waitFor();
                    // a worker this launcher asked to stop ends as a signal ends it (130, 143), checkpoint saved
                    boolean stopped = stopping && (code == 130 || code == 143);
                    if (code != 0 && !stopped && failure == null) {
                        failure = "worker rank " + rank + " exited with code " + code + "; its last lines:\n"
                                + String.join("\n", tails.get(i));
                        stopAll();   // as torchrun does: the others would wait for it forever
                    }
                    continue;
                }
                String line = item[1];
                if (rank == 0 && line.startsWith(WorkerEvents.PREFIX)) {
                    TrainResult r = WorkerEvents.replay(line, listeners, Checkpointer.list(out));
                    if (r != null) {
                        result = r;
                    }
                    continue;
                }
                Deque<String> tail = tails.get(i);
                tail.addLast(line);
                if (tail.size() > TAIL_LINES) {
                    tail.removeFirst();
                }
                console.println(rank == 0 ? line : "[rank " + rank + "] " + line);
            }
        } catch (InterruptedException e) {
            stopAll();
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while waiting for the workers; they were stopped");
        }
        if (failure != null) {
            throw new IOException(failure);
        }
        if (result == null && a.nodeRank() != 0) {
            // rank 0 lives on node 0 and reports the run there; this node's workers ended cleanly
            return new TrainResult(TrainResult.Status.COMPLETED, 0, Double.NaN, Double.NaN, Double.NaN,
                    (System.nanoTime() - t0) / 1e9, List.of(), "node " + a.nodeRank() + ": its " + local
                    + " workers finished; node 0 reports the run");
        }
        if (result == null) {
            throw new IOException("the workers ended without reporting a result (see their output above)");
        }
        return result;
    }

    private static void pump(Process p, int rank, BlockingQueue<String[]> lines) {
        try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = r.readLine()) != null) {
                lines.add(new String[] {String.valueOf(rank), line});
            }
        } catch (IOException e) {
            lines.add(new String[] {String.valueOf(rank), "(output lost: " + e.getMessage() + ")"});
        }
        lines.add(new String[] {String.valueOf(rank), null});
    }

    /**
     * Asks every worker to end at the next step boundary with a checkpoint. SIGTERM, not SIGINT: a process started
     * in the background (nohup, a batch script) ignores SIGINT, and so do the workers it starts.
     */
    @Override
    public void requestStop() {
        stopping = true;
        for (Process p : workers) {
            p.toHandle().destroy();   // SIGTERM; unlike Process.destroy it leaves the output pipes open
        }
    }

    /** Kills the workers still running (SIGKILL): one blocked in a collective would wait for a failed peer forever. */
    private void stopAll() {
        workers.stream().filter(Process::isAlive).forEach(Process::destroyForcibly);
    }
}
