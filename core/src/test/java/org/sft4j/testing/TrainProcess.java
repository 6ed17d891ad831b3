package org.sft4j.testing;

import org.sft4j.cli.Main;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * {@code sft4j train} in a JVM of its own, its output read line by line as it comes: what tests of signals, kills,
 * launchers and ranks watch.
 */
public final class TrainProcess {

    public final Process process;
    private final List<String> lines = new ArrayList<>();
    private final Thread reader;
    private final int patienceSeconds;

    private TrainProcess(Process process, int patienceSeconds) {
        this.process = process;
        this.patienceSeconds = patienceSeconds;
        this.reader = new Thread(this::read, "child-output");
        reader.setDaemon(true);
        reader.start();
    }

    /** The loss of each logged step of the run in {@code out} (its metrics.jsonl). */
    public static Map<Integer, Double> losses(Path out) throws IOException {
        com.fasterxml.jackson.databind.ObjectMapper json = new com.fasterxml.jackson.databind.ObjectMapper();
        Map<Integer, Double> m = new java.util.TreeMap<>();
        for (String line : java.nio.file.Files.readAllLines(out.resolve("metrics.jsonl"))) {
            com.fasterxml.jackson.databind.JsonNode n = json.readTree(line);
            if (n.has("loss")) {
                m.put(n.get("step").asInt(), n.get("loss").asDouble());
            }
        }
        return m;
    }

    /**
     * A SmolLM2-shaped model of {@code layers} decoder layers (hidden size 32) with SmolLM2's tokenizer, made by
     * {@code sft4j init-model} into {@code out}: what the child runs train.
     */
    public static Path tinyModel(Path out, int layers) {
        Path tok = Shared.tokenizer("smollm2-135m-instruct");
        assertEquals(0, Main.run("init-model", "--config", tok.resolve("config.json").toString(), "--tokenizer", tok.toString(),
                "--out", out.toString(), "--set", "hidden_size=32", "--set", "intermediate_size=64", "--set",
                "num_hidden_layers=" + layers, "--set", "num_attention_heads=2", "--set", "num_key_value_heads=1"));
        return out;
    }

    /**
     * Starts {@code sft4j train CONFIG --set output_dir=... --set OVERRIDE...} with {@code jvmFlags} and {@code env}
     * added; waits (for a line, for the end) at most {@code patienceSeconds}.
     */
    public static TrainProcess start(Path config, Path outputDir, List<String> jvmFlags, Map<String, String> env,
                                     int patienceSeconds, String... overrides) throws IOException {
        String java = ProcessHandle.current().info().command().orElse("java");
        List<String> cmd = new ArrayList<>(List.of(java, "-Xmx1g"));
        cmd.addAll(jvmFlags);
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), Main.class.getName(), "train", config.toString(),
                "--set", "output_dir=" + outputDir));
        for (String o : overrides) {
            cmd.addAll(List.of("--set", o));
        }
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().putAll(env);
        return new TrainProcess(pb.start(), patienceSeconds);
    }

    private void read() {
        try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
            for (String line; (line = r.readLine()) != null; ) {
                synchronized (lines) {
                    lines.add(line);
                    lines.notifyAll();
                }
            }
        } catch (IOException e) {
            // the process ended
        }
    }

    /** Waits for a line the predicate accepts. */
    public void await(Predicate<String> wanted) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(patienceSeconds);
        synchronized (lines) {
            while (lines.stream().noneMatch(wanted)) {
                long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
                if (left <= 0 || !process.isAlive() && lines.stream().noneMatch(wanted)) {
                    process.destroyForcibly();
                    fail("the line never came; output:\n" + String.join("\n", lines));
                }
                lines.wait(Math.min(left, 500));
            }
        }
    }

    /** Sends a signal (Process.destroy would also close the pipes its output comes through). */
    public void signal(String name) throws IOException, InterruptedException {
        assertEquals(0, new ProcessBuilder("kill", "-" + name, String.valueOf(process.pid())).start().waitFor());
    }

    public int exitCode() throws InterruptedException {
        if (!process.waitFor(patienceSeconds, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            fail("sft4j train did not end; output:\n" + output());
        }
        reader.join(10_000);   // the last lines are read
        return process.exitValue();
    }

    public List<String> lines() {
        synchronized (lines) {
            return List.copyOf(lines);
        }
    }

    public String output() {
        return String.join("\n", lines());
    }
}
