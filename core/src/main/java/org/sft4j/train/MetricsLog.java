package org.sft4j.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code metrics.jsonl} in the output directory: one line per logged step and per validation, flushed
 * as written so another process (or notebook) can follow the run. On resume, lines after the resumed
 * step are dropped so the file never has a step twice.
 */
public final class MetricsLog implements TrainListener, AutoCloseable {

    private static final ObjectMapper JSON = new ObjectMapper();

    private final BufferedWriter out;

    public MetricsLog(Path file, int resumeStep) throws IOException {
        if (Files.exists(file)) {
            List<String> keep = new ArrayList<>();
            for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
                if (!line.isBlank() && JSON.readTree(line).path("step").asInt() <= resumeStep) {
                    keep.add(line);
                }
            }
            Files.write(file, keep, StandardCharsets.UTF_8);
        }
        this.out = Files.newBufferedWriter(file, StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
    }

    @Override
    public void onStep(StepLog s) {
        ObjectNode n = JSON.createObjectNode();
        n.put("step", s.step());
        n.put("epoch", s.epoch());
        n.put("loss", s.loss());
        n.put("lr", s.lr());
        n.put("grad_norm", s.gradNorm());
        n.put("tokens_per_s", s.tokensPerSecond());
        n.put("supervised_tokens", s.supervisedTokens());
        n.put("elapsed_s", s.elapsedSeconds());
        n.put("memory_mb", s.memoryMb());
        write(n);
    }

    @Override
    public void onValidation(int step, double valLoss) {
        ObjectNode n = JSON.createObjectNode();
        n.put("step", step);
        n.put("val_loss", valLoss);
        write(n);
    }

    private void write(JsonNode n) {
        try {
            out.write(JSON.writeValueAsString(n));
            out.newLine();
            out.flush();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Reads a metrics file back (for charts of finished runs). */
    public static List<JsonNode> read(Path file) throws IOException {
        List<JsonNode> r = new ArrayList<>();
        if (Files.exists(file)) {
            for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
                if (!line.isBlank()) {
                    r.add(JSON.readTree(line));
                }
            }
        }
        return r;
    }

    @Override
    public void close() throws IOException {
        out.close();
    }
}
