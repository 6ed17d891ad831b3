package org.sft4j.model;

import ai.djl.ndarray.NDArray;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.sft4j.base.JsonFiles;
import org.sft4j.model.io.AtomicDirectory;
import org.sft4j.model.io.CheckpointFiles;
import org.sft4j.model.io.NamedTensor;
import org.sft4j.model.io.SafetensorsWriter;
import org.sft4j.model.io.StDType;
import org.sft4j.model.io.TensorInfo;
import org.sft4j.model.io.TensorReader;
import org.sft4j.model.io.TensorSource;
import org.sft4j.model.lora.LoraConfig;
import org.sft4j.model.lora.PeftAdapter;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Writes a {@link Decoder} back out in Hugging Face layout (config.json, generation_config.json,
 * safetensors shards + index, tokenizer files) and reads/writes PEFT adapters.
 */
public final class ModelFiles {

    /** Tokenizer files copied next to saved weights, when the source has them. */
    public static final List<String> TOKENIZER_FILES = List.of("tokenizer.json", "tokenizer_config.json",
            "special_tokens_map.json", "vocab.json", "merges.txt", "tokenizer.model", "added_tokens.json",
            "chat_template.jinja");
    /** transformers' default shard size for {@code save_pretrained}. */
    public static final long DEFAULT_SHARD_BYTES = 5_000_000_000L;
    private static final ObjectMapper JSON = new ObjectMapper();

    private ModelFiles() {}

    /**
     * Saves the full model (adapters must be merged first) to {@code dir}, atomically: every file is built under a
     * temporary directory that is renamed into place when complete. Each tensor is converted to {@code saveType} on
     * its device and streamed to its shard a chunk at a time, so no second copy of the model is held in memory.
     *
     * @param saveType F32, F16 or BF16
     * @param sourceDir where config/tokenizer files came from (copied when present), may be null
     * @param maxShardBytes the largest shard, as {@code save_pretrained}'s {@code max_shard_size} (bytes)
     */
    public static Path saveModel(Decoder model, Path dir, StDType saveType, Path sourceDir, long maxShardBytes)
            throws IOException {
        try (AtomicDirectory out = AtomicDirectory.begin(dir)) {
            writeModel(model, out.path(), saveType, sourceDir, maxShardBytes);
            return out.commit();
        }
    }

    /** Writes the full model into an existing directory (the caller makes the directory atomic). */
    public static void writeModel(Decoder model, Path dir, StDType saveType, Path sourceDir, long maxShardBytes)
            throws IOException {
        if (model.loraConfig() != null) {
            throw new IllegalStateException("the model has LoRA adapters: save them with saveAdapter, "
                    + "or mergeLora() first");
        }
        List<NamedTensor> tensors = new ArrayList<>();
        for (Parameter p : model.baseParameters()) {
            tensors.add(tensor(p.name(), p.array(), saveType));
        }
        writeModel(model.config(), tensors, dir, saveType, sourceDir, maxShardBytes);
    }

    /**
     * Writes a model's files from its tensors (each read when the writer reaches it, in state-dict order: a sharded
     * run gathers them a layer at a time) into an existing directory.
     */
    public static void writeModel(ModelConfig config, List<NamedTensor> tensors, Path dir, StDType saveType,
                                  Path sourceDir, long maxShardBytes) throws IOException {
        tensors = new ArrayList<>(tensors);
        tensors.sort(java.util.Comparator.comparing(NamedTensor::name, SafetensorsWriter.STATE_DICT_ORDER));   // as transformers
        SafetensorsWriter.writeSharded(dir, "model", tensors, maxShardBytes);
        String dtypeName = switch (saveType) {
            case BF16 -> "bfloat16";
            case F16 -> "float16";
            default -> "float32";
        };
        ObjectNode cfg = config.raw().deepCopy();
        cfg.put(cfg.has("dtype") ? "dtype" : "torch_dtype", dtypeName);
        JsonFiles.writeAtomically(dir.resolve("config.json"), cfg);
        writeGenerationConfig(config, sourceDir, dir);
        copyTokenizerFiles(sourceDir, dir);
    }

    /** Saves only the LoRA adapters in PEFT layout (adapter_config.json + adapter_model.safetensors). */
    public static Path saveAdapter(Decoder model, Path dir, String baseModel) throws IOException {
        try (AtomicDirectory out = AtomicDirectory.begin(dir)) {
            writeAdapter(model, out.path(), baseModel);
            return out.commit();
        }
    }

    /** Writes the adapter into an existing directory (the caller makes the directory atomic). */
    public static void writeAdapter(Decoder model, Path dir, String baseModel) throws IOException {
        LoraConfig cfg = model.loraConfig();
        if (cfg == null) {
            throw new IllegalStateException("the model has no LoRA adapters to save");
        }
        List<NamedTensor> tensors = new ArrayList<>();
        for (Parameter p : model.loraParameters()) {
            tensors.add(tensor(p.name(), p.array(), StDType.F32));
        }
        SafetensorsWriter.writeFile(dir.resolve("adapter_model.safetensors"), tensors, java.util.Map.of());
        PeftAdapter.writeConfig(dir, cfg, baseModel);
    }

    /** The dtype a model directory was saved in ({@code torch_dtype}/{@code dtype} of config.json), F32 if unknown. */
    public static StDType savedDtype(ModelConfig cfg) {
        String d = cfg.raw().path("dtype").asText(cfg.raw().path("torch_dtype").asText("float32"));
        return switch (d) {
            case "bfloat16" -> StDType.BF16;
            case "float16" -> StDType.F16;
            default -> StDType.F32;
        };
    }

    /**
     * The type a save_dtype setting asks for: {@code auto} is the type the model holds its weights in (bf16 after a
     * bf16-true run, fp32 with fp32 master weights), so a checkpoint resumes exactly; or float32, bfloat16, float16.
     */
    public static StDType saveDtype(String s, Decoder model) {
        return switch (s) {
            case "auto" -> heldDtype(model);
            case "float32", "fp32" -> StDType.F32;
            case "bfloat16", "bf16" -> StDType.BF16;
            case "float16", "fp16" -> StDType.F16;
            default -> throw new org.sft4j.base.UserError("save_dtype '" + s + "' must be auto, float32, bfloat16 or float16");
        };
    }

    /** The one type every base weight of {@code model} has, or F32 when they differ. */
    static StDType heldDtype(Decoder model) {
        java.util.Set<ai.djl.ndarray.types.DataType> types = new java.util.HashSet<>();
        for (Parameter p : model.baseParameters()) {
            types.add(org.sft4j.nd.DataTypes.of(p.array()));
        }
        return types.size() == 1 ? StDType.of(types.iterator().next()) : StDType.F32;
    }

    /** Loads a PEFT LoRA adapter onto {@code model}, checking every A/B tensor's presence and shape. */
    public static void loadAdapter(Decoder model, Path dir) throws IOException {
        LoraConfig cfg;
        try {
            cfg = model.resolve(PeftAdapter.readConfig(dir));
        } catch (org.sft4j.base.UserError e) {
            throw new org.sft4j.base.UserError(dir.resolve("adapter_config.json") + ": " + e.getMessage(), e);
        }
        if (model.loraConfig() != null) {
            throw new IllegalStateException("the model already has LoRA adapters");
        }
        Path file = dir.resolve("adapter_model.safetensors");
        try (CheckpointFiles files = CheckpointFiles.open(dir, "adapter_model")) {
            List<Object[]> pending = new ArrayList<>();
            for (Projection p : model.projections()) {
                if (!cfg.targets(p.kind())) {
                    continue;
                }
                String prefix = "base_model.model." + p.name();
                long[] w = p.weight().array().getShape().getShape();
                long[] aShape = {cfg.rank(), w[1]};
                long[] bShape = {w[0], cfg.rank()};
                NDArray a = read(model, files, file, prefix + ".lora_A.weight", aShape);
                NDArray b = read(model, files, file, prefix + ".lora_B.weight", bShape);
                pending.add(new Object[] {p, a, b});
            }
            for (Object[] x : pending) {
                model.attachLora((Projection) x[0], cfg, (NDArray) x[1], (NDArray) x[2]);
            }
            model.setLoraConfig(cfg);
        }
    }

    private static NDArray read(Decoder model, CheckpointFiles files, Path file, String name, long[] shape)
            throws IOException {
        if (!files.contains(name)) {
            throw new IOException(file + ": missing tensor '" + name + "' (expected shape " + Arrays.toString(shape) + ")");
        }
        TensorInfo info = files.info(name);
        if (!Arrays.equals(info.shape(), shape)) {
            throw new IOException(file + ": tensor '" + name + "' has shape " + Arrays.toString(info.shape())
                    + ", expected " + Arrays.toString(shape));
        }
        return TensorReader.read(files.fileOf(name), name, model.manager(), model.dataType());
    }

    /** A tensor of the model as bytes of {@code type}, streamed a chunk at a time when the writer reaches it. */
    static NamedTensor tensor(String name, NDArray array, StDType type) {
        if (type != StDType.F32 && type != StDType.BF16 && type != StDType.F16) {
            throw new IllegalArgumentException("cannot save weights as " + type);
        }
        return TensorSource.of(name, array, type);
    }

    private static void writeGenerationConfig(ModelConfig cfg, Path sourceDir, Path out) throws IOException {
        Path src = sourceDir == null ? null : sourceDir.resolve("generation_config.json");
        if (src != null && Files.exists(src)) {
            Files.copy(src, out.resolve("generation_config.json"), StandardCopyOption.REPLACE_EXISTING);
            return;
        }
        ObjectNode g = JSON.createObjectNode();
        for (String key : List.of("bos_token_id", "eos_token_id", "pad_token_id")) {
            if (cfg.raw().has(key) && !cfg.raw().get(key).isNull()) {
                g.set(key, cfg.raw().get(key));
            }
        }
        JsonFiles.writeAtomically(out.resolve("generation_config.json"), g);
    }

    /** Copies the tokenizer files that exist in {@code from} into {@code to}. */
    public static void copyTokenizerFiles(Path from, Path to) throws IOException {
        if (from == null) {
            return;
        }
        for (String f : TOKENIZER_FILES) {
            Path src = from.resolve(f);
            if (Files.exists(src)) {
                Files.copy(src, to.resolve(f), StandardCopyOption.REPLACE_EXISTING);
            }
        }
    }
}
