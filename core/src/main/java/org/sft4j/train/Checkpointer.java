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
import org.sft4j.nd.DataTypes;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Writes {@code checkpoint-<step>} directories: the weights in Hugging Face layout (or the PEFT adapter) in the type
 * {@code save_dtype} names, {@code optimizer.safetensors} (AdamW moments and Kahan buffers, each in its own type) and
 * {@code trainer_state.json}. Each checkpoint is built
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
    private final StDType saveType;

    /** Checkpoints with weights in the type the model holds them in (save_dtype: auto). */
    public Checkpointer(Path outputDir, Decoder model, AdamW optimizer, Integer keepLast, ModelSource source) {
        this(outputDir, model, optimizer, keepLast, source, "auto");
    }

    /** @param saveDtype save_dtype: {@code auto} (as the model holds its weights), float32, bfloat16 or float16 */
    public Checkpointer(Path outputDir, Decoder model, AdamW optimizer, Integer keepLast, ModelSource source,
                        String saveDtype) {
        this.saveType = ModelFiles.saveDtype(saveDtype, model);
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
                // save_dtype auto keeps the type the weights are held in, so resuming is exact (bf16-true: half of fp32)
                ModelFiles.writeModel(model, dir.path(), saveType, sourceDir, ModelFiles.DEFAULT_SHARD_BYTES);
            }
            // optimizer state in its own type (bf16 moments and Kahan buffers stay bf16): a resume continues exactly
            List<NamedTensor> tensors = new ArrayList<>();
            Map<String, NDArray> all = new java.util.LinkedHashMap<>(optimizer.moments());
            all.putAll(optimizer.compensation());
            for (Map.Entry<String, NDArray> e : all.entrySet()) {
                tensors.add(TensorSource.of(e.getKey(), e.getValue(), StDType.of(DataTypes.of(e.getValue()))));   // streamed
            }
            SafetensorsWriter.writeFile(dir.path().resolve(OptimizerFiles.WHOLE), tensors, Map.of());
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
     * Loads AdamW moments, Kahan compensation and step from a checkpoint into {@code optimizer}: one process's whole
     * state, or the pieces each rank of a sharded run wrote. A checkpoint without compensation (written with another
     * bf16_update, or before it existed) leaves it at zero, its starting value.
     */
    public static void restoreOptimizer(Path checkpoint, AdamW optimizer, int adamStep) throws IOException {
        try (OptimizerFiles files = OptimizerFiles.open(checkpoint)) {
            for (Map.Entry<String, NDArray> e : optimizer.moments().entrySet()) {
                files.readWhole(e.getKey(), e.getValue());
            }
            for (Map.Entry<String, NDArray> e : optimizer.compensation().entrySet()) {
                if (files.has(e.getKey())) {
                    files.readWhole(e.getKey(), e.getValue());
                }
            }
        }
        optimizer.setStepCount(adamStep);
    }
}
