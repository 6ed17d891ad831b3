package org.sft4j.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;

/**
 * Rank 0's training events as lines on its standard output, and back: the {@link Launcher} turns them into
 * the same {@link TrainListener} calls an in-process run makes, so the notebook's live chart and the CLI's log
 * follow a multi-GPU run unchanged. A line is {@code @sft4j {"type": ..., ...}}.
 */
public final class WorkerEvents implements TrainListener {

    static final String PREFIX = "@sft4j ";
    private static final ObjectMapper JSON = new ObjectMapper();

    private final PrintStream out;

    WorkerEvents(PrintStream out) {
        this.out = out;
    }

    /** Events on this process's standard output (a worker's rank 0). */
    public static WorkerEvents toStandardOutput() {
        return new WorkerEvents(System.out);
    }

    @Override
    public void onStart(int startStep, int totalSteps) {
        emit(event("start").put("step", startStep).put("total_steps", totalSteps));
    }

    @Override
    public void onStep(StepLog log) {
        ObjectNode n = event("step");
        n.set("log", JSON.valueToTree(log));
        emit(n);
    }

    @Override
    public void onValidation(int step, double valLoss) {
        emit(event("validation").put("step", step).put("val_loss", valLoss));
    }

    @Override
    public void onCheckpoint(int step, Path dir) {
        emit(event("checkpoint").put("step", step).put("dir", dir.toString()));
    }

    @Override
    public void onEnd(TrainResult r) {
        emit(event("end").put("status", r.status().name()).put("steps", r.steps()).put("best_val_loss", r.bestValLoss())
                .put("last_val_loss", r.lastValLoss()).put("first_val_loss", r.firstValLoss()).put("seconds", r.seconds())
                .put("message", r.message()));
    }

    private static ObjectNode event(String type) {
        return JSON.createObjectNode().put("type", type);
    }

    private void emit(ObjectNode n) {
        synchronized (out) {
            out.println(PREFIX + n);
            out.flush();
        }
    }

    /**
     * Replays one event line on {@code listeners}; returns the run's result for the {@code end} event, else null.
     *
     * @param checkpoints the checkpoint directories at the end (the worker does not send them)
     */
    static TrainResult replay(String line, List<TrainListener> listeners, List<Path> checkpoints) throws java.io.IOException {
        JsonNode n = JSON.readTree(line.substring(PREFIX.length()));
        switch (n.path("type").asText()) {
            case "start" -> listeners.forEach(l -> l.onStart(n.path("step").asInt(), n.path("total_steps").asInt()));
            case "step" -> {
                StepLog log = JSON.treeToValue(n.path("log"), StepLog.class);
                listeners.forEach(l -> l.onStep(log));
            }
            case "validation" -> listeners.forEach(l -> l.onValidation(n.path("step").asInt(), n.path("val_loss").asDouble()));
            case "checkpoint" -> listeners.forEach(l -> l.onCheckpoint(n.path("step").asInt(), Path.of(n.path("dir").asText())));
            case "end" -> {
                TrainResult r = new TrainResult(TrainResult.Status.valueOf(n.path("status").asText()), n.path("steps").asInt(),
                        n.path("best_val_loss").asDouble(), n.path("last_val_loss").asDouble(),
                        n.path("first_val_loss").asDouble(), n.path("seconds").asDouble(), checkpoints,
                        n.path("message").asText());
                listeners.forEach(l -> l.onEnd(r));
                return r;
            }
            default -> throw new java.io.IOException("unknown worker event: " + line);
        }
        return null;
    }
}
