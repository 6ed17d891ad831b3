package org.sft4j.train;

import ai.djl.ndarray.NDArray;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.sft4j.base.JsonFiles;
import org.sft4j.base.UserError;
import org.sft4j.model.Decoder;
import org.sft4j.model.ModelFiles;
import org.sft4j.model.io.AtomicDirectory;
import org.sft4j.model.io.NamedTensor;
import org.sft4j.model.io.SafetensorsWriter;
import org.sft4j.model.io.StDType;
import org.sft4j.model.io.TensorSource;
import org.sft4j.nd.Tensors;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Writes {@code checkpoint-<step>} directories: the weights in Hugging Face layout (or the PEFT adapter),
 * {@code optimizer.safetensors} (AdamW moments) and {@code trainer_state.json}. Each checkpoint is built
 * under a temporary name and renamed when complete, so a process killed mid-write leaves the previous
 * checkpoint as the latest one. Older checkpoints beyond {@code keep_last_n_checkpoints} are removed.
 */
public final class Checkpointer {

    private static final ObjectMapper JSON = new ObjectMapper();
    static final String STATE = "trainer_state.json";

    private final Path outputDir;
    private final Decoder model;
    private final AdamW optimizer;
    private final Integer keepLast;
    private final ModelSource source;

    public Checkpointer(Path outputDir, Decoder model, AdamW optimizer, Integer keepLast, ModelSource source) {
        this.outputDir = outputDir;
        this.model = model;
        this.optimizer = optimizer;
        this.keepLast = keepLast;
        this.source = source;
    }

    public Path save(TrainState state) throws IOException {
        Path target = outputDir.resolve("checkpoint-" + state.step());
        try (AtomicDirectory dir = AtomicDirectory.begin(target)) {
            Path sourceDir = source.dir().orElse(null);
            if (model.loraConfig() != null) {
                ModelFiles.writeAdapter(model, dir.path(), source.name());
                ModelFiles.copyTokenizerFiles(sourceDir, dir.path());
            } else {
                // checkpoints keep the compute precision so that resuming is exact; exports may be bf16
                ModelFiles.writeModel(model, dir.path(), StDType.F32, sourceDir, ModelFiles.DEFAULT_SHARD_BYTES);
            }
            List<NamedTensor> moments = new ArrayList<>();
            for (Map.Entry<String, NDArray> e : optimizer.moments().entrySet()) {
                moments.add(TensorSource.of(e.getKey(), e.getValue(), StDType.F32));   // streamed, any size
            }
            SafetensorsWriter.writeFile(dir.path().resolve(OptimizerFiles.WHOLE), moments, Map.of());
            JsonFiles.writeAtomically(dir.path().resolve(STATE), state);
            dir.commit();
        }
        prune(outputDir, keepLast);
        return target;
    }

    /** Removes the oldest checkpoints of {@code outputDir} beyond the last {@code keepLast} (null or 0: keeps all). */
    static void prune(Path outputDir, Integer keepLast) throws IOException {
        if (keepLast == null || keepLast <= 0) {
            return;
        }
        List<Path> all = list(outputDir);
        for (int i = 0; i < all.size() - keepLast; i++) {
            AtomicDirectory.deleteTree(all.get(i));
        }
    }

    /** Complete checkpoints (those with trainer_state.json) of a run directory, oldest first. */
    public static List<Path> list(Path outputDir) throws IOException {
        if (!Files.isDirectory(outputDir)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(outputDir)) {
            return s.filter(p -> p.getFileName().toString().matches("checkpoint-\\d+") && Files.exists(p.resolve(STATE)))
                    .sorted(Comparator.comparingInt(Checkpointer::stepOf)).toList();
        }
    }

    public static int stepOf(Path checkpoint) {
        return Integer.parseInt(checkpoint.getFileName().toString().substring("checkpoint-".length()));
    }

    public static TrainState readState(Path checkpoint) throws IOException {
        Path f = checkpoint.resolve(STATE);
        if (!Files.exists(f)) {
            throw new UserError(checkpoint + " is not a complete checkpoint: " + STATE + " is missing");
        }
        TrainState s;
        try {
            s = JSON.readValue(f.toFile(), TrainState.class);
        } catch (com.fasterxml.jackson.core.JacksonException e) {
            throw new UserError(f + " is not a valid trainer state (" + e.getOriginalMessage() + ")", e);
        }
        if (s.formatVersion() != TrainState.FORMAT_VERSION) {
            throw new UserError(f + ": checkpoint format " + s.formatVersion() + " is not " + TrainState.FORMAT_VERSION);
        }
        return s;
    }

    /** The checkpoint {@code resume_from_checkpoint} names: a path, or auto/true for the latest; null for none. */
    public static Path resolveResume(String setting, Path outputDir) throws IOException {
        if (setting == null || setting.isBlank() || setting.equals("false")) {
            return null;
        }
        if (setting.equals("auto") || setting.equals("true")) {
            List<Path> all = list(outputDir);
            if (all.isEmpty()) {
                if (setting.equals("true")) {
                    throw new UserError("resume_from_checkpoint: true, but " + outputDir + " has no complete checkpoint");
                }
                return null;
            }
            return all.get(all.size() - 1);
        }
        Path p = Path.of(setting);
        readState(p);
        return p;
    }

    /**
     * Loads AdamW moments and step from a checkpoint into {@code optimizer}: one process's whole moments, or the
     * pieces each rank of a sharded run wrote.
     */
    public static void restoreOptimizer(Path checkpoint, AdamW optimizer, int adamStep) throws IOException {
        try (OptimizerFiles files = OptimizerFiles.open(checkpoint)) {
            for (Map.Entry<String, NDArray> e : optimizer.moments().entrySet()) {
                files.readWhole(e.getKey(), e.getValue());
            }
        }
        optimizer.setStepCount(adamStep);
    }
}
