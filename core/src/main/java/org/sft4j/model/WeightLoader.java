package org.sft4j.model;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import org.sft4j.model.io.CheckpointFiles;
import org.sft4j.model.io.TensorInfo;
import org.sft4j.model.io.TensorReader;
import org.sft4j.nd.Compute;
import org.sft4j.nd.DataTypes;
import org.sft4j.nd.Engines;
import org.sft4j.nd.Tensors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Turns a Hugging Face checkpoint directory (or a seed) into a {@link Decoder}: every expected tensor
 * is looked up by name and its shape checked before anything is built.
 */
final class WeightLoader {

    private static final Logger LOG = LoggerFactory.getLogger(WeightLoader.class);

    private WeightLoader() {}

    /**
     * Loads {@code dir} onto {@code device} to compute with {@code compute}, each tensor read straight into the type
     * it is stored in ({@link Compute#weightType}: bf16 under bf16-true, and the frozen projections and head of a LoRA
     * base under a mixed precision when {@code frozenBase}); no fp32 copy is made of a 16-bit weight.
     */
    static Decoder load(Path dir, Device device, Compute compute, boolean frozenBase) throws IOException {
        ModelConfig cfg = ModelConfig.read(dir);
        try (CheckpointFiles files = CheckpointFiles.open(dir, "model")) {
            Map<String, String> stored = checkedNames(cfg, files, dir);
            NDManager manager = Engines.newManager(device);
            try {
                Map<String, String> layoutName = new HashMap<>();
                stored.forEach((name, inFiles) -> layoutName.put(inFiles, name));
                Map<String, NDArray> loaded = TensorReader.readAll(files, stored.values(), manager,
                        inFiles -> compute.weightType(frozenBase && frozenMatrix(layoutName.get(inFiles), cfg)));
                return Decoder.assemble(cfg, manager, DataType.FLOAT32, compute, frozenBase,
                        name -> loaded.get(stored.get(name)));
            } catch (IOException | RuntimeException ex) {
                manager.close();
                throw ex;
            }
        }
    }

    /**
     * As {@link #load}, but nothing is read: each parameter has its tensor's shape and the type {@code compute} stores
     * it in, over no memory, and the model's {@link Decoder#pendingWeights()} reads slices of it (what a rank of a
     * sharded run keeps) until {@link Decoder#weightsRead()}.
     */
    static Decoder loadToShard(Path dir, Device device, Compute compute, boolean frozenBase) throws IOException {
        ModelConfig cfg = ModelConfig.read(dir);
        CheckpointFiles files = CheckpointFiles.open(dir, "model");
        NDManager manager = null;
        try {
            Map<String, String> stored = checkedNames(cfg, files, dir);
            manager = Engines.newManager(device);
            NDManager m = manager;
            PendingWeights pending = new PendingWeights(files);
            Decoder model = Decoder.assemble(cfg, manager, DataType.FLOAT32, compute, frozenBase, name -> unread(m,
                    files.info(stored.get(name)).shape(), compute.weightType(frozenBase && frozenMatrix(name, cfg))));
            model.baseParameters().forEach(p -> pending.add(p, stored.get(p.name())));
            model.pending(pending);
            return model;
        } catch (IOException | RuntimeException ex) {
            if (manager != null) {
                manager.close();
            }
            files.close();
            throw ex;
        }
    }

    /** An array of {@code shape} and {@code dtype} that holds no memory (one element seen everywhere): never read. */
    private static NDArray unread(NDManager manager, long[] shape, DataType dtype) {
        try (NDArray one = DataTypes.empty(manager, new Shape(1), dtype)) {
            return one.broadcast(new Shape(shape));   // torch's expand: a view with stride 0
        }
    }

    /**
     * The name in the files of every tensor the decoder expects, by its layout name, once each is found with the
     * shape config.json implies and a floating-point type; warns of tensors the decoder leaves unused.
     */
    private static Map<String, String> checkedNames(ModelConfig cfg, CheckpointFiles files, Path dir)
            throws IOException {
        LinkedHashMap<String, long[]> expected = Decoder.expectedShapes(cfg);
        Map<String, String> stored = storedNames(cfg, files, expected.keySet(), dir);
        for (Map.Entry<String, long[]> e : expected.entrySet()) {
            String name = stored.get(e.getKey());
            if (!files.contains(name)) {
                throw new IOException(dir + ": the checkpoint is missing tensor '" + name
                        + "' (expected shape " + Arrays.toString(e.getValue()) + ")");
            }
            TensorInfo info = files.info(name);
            if (!Arrays.equals(info.shape(), e.getValue())) {
                throw new IOException(dir + ": tensor '" + name + "' has shape "
                        + Arrays.toString(info.shape()) + ", config.json implies " + Arrays.toString(e.getValue()));
            }
            if (!info.dtype().isFloat()) {
                throw new IOException(dir + ": tensor '" + name + "' is " + info.dtype()
                        + "; quantized checkpoints are not supported");
            }
        }
        Set<String> unused = new TreeSet<>(files.names());
        unused.removeAll(stored.values());
        unused.removeIf(n -> n.endsWith("rotary_emb.inv_freq") || (cfg.tieWordEmbeddings() && n.endsWith("lm_head.weight")));
        if (cfg.multimodal()) {
            long vision = unused.stream().filter(n -> !n.contains("language_model")).count();
            unused.removeIf(n -> !n.contains("language_model"));
            LOG.info("{}: the language model of a {} checkpoint is loaded; its vision tower and projector ({} "
                    + "tensors) are not, and a saved checkpoint is a text-only {}", dir, "Gemma3ForConditionalGeneration",
                    vision, cfg.family().causalLm());
        }
        if (!unused.isEmpty()) {
            LOG.warn("{}: {} checkpoint tensors are not used by the decoder, e.g. {}", dir, unused.size(),
                    unused.iterator().next());
        }
        return stored;
    }

    /**
     * The name each tensor has in the files: the layout's own, or for the language model of a vision-language
     * checkpoint the same behind its prefix ({@code language_model.model.} as the Hub's Gemma 3 files have it,
     * {@code model.language_model.} as transformers 5 saves them).
     */
    private static Map<String, String> storedNames(ModelConfig cfg, CheckpointFiles files, Set<String> names, Path dir)
            throws IOException {
        Map<String, String> out = new LinkedHashMap<>();
        if (!cfg.multimodal()) {
            names.forEach(n -> out.put(n, n));
            return out;
        }
        for (String[] prefix : new String[][] {{"language_model.model.", "language_model.lm_head."},
                {"model.language_model.", "lm_head."}}) {
            if (files.contains(prefix[0] + "embed_tokens.weight")) {
                for (String n : names) {
                    out.put(n, n.startsWith("model.") ? prefix[0] + n.substring("model.".length())
                            : prefix[1] + n.substring("lm_head.".length()));
                }
                return out;
            }
        }
        throw new IOException(dir + ": a Gemma3ForConditionalGeneration checkpoint needs its language model's "
                + "embeddings as 'language_model.model.embed_tokens.weight' or 'model.language_model.embed_tokens.weight'");
    }

    /**
     * Weights initialised as transformers does (normal(0, initializer_range), norms 1 or 0 for (1 + w) norms, biases
     * 0), generated on the device by torch's generator seeded with {@code seed} (the same values for the same seed
     * and device type).
     */
    static Decoder randomInit(ModelConfig cfg, long seed, Device device, DataType dtype, Compute compute) {
        DataTypes.requireSupported(dtype);
        NDManager manager = Engines.newManager(device);
        try {
            Engines.seedTorch(seed);
            Map<String, NDArray> w = new HashMap<>();
            for (Layout.Tensor t : Layout.of(cfg).tensors()) {
                Shape shape = new Shape(t.shape());
                NDArray a = switch (t.role()) {
                    case NORM -> cfg.family().plusOneNorms() ? manager.zeros(shape) : manager.ones(shape);
                    case BIAS -> manager.zeros(shape);
                    case EMBEDDING, MATRIX -> manager.randomNormal(0f, (float) cfg.initializerRange(), shape,
                            DataType.FLOAT32);
                };
                // converted as it is made: a 16-bit model never holds all its weights in fp32
                w.put(t.name(), place(manager, a, dtype == DataType.FLOAT32 ? compute.weightType(false) : dtype));
            }
            return Decoder.assemble(cfg, manager, dtype, compute, false, w::get);
        } catch (RuntimeException ex) {
            manager.close();
            throw ex;
        }
    }

    /** Whether checkpoint tensor {@code name} is a projection or LM head matrix (what LoRA freezes and never reads in fp32). */
    static boolean frozenMatrix(String name, ModelConfig cfg) {
        return (name.endsWith("_proj.weight") || name.equals("lm_head.weight"))
                && !(cfg.tieWordEmbeddings() && name.equals("lm_head.weight"));
    }

    /** Converts to the compute dtype and makes {@code manager} the only owner (outside any step scope). */
    static NDArray place(NDManager manager, NDArray a, DataType dtype) {
        NDArray out = DataTypes.cast(a, dtype);
        if (out != a) {
            a.close();
        }
        return Tensors.keep(out, manager);
    }

    static UncheckedIOException unchecked(IOException e) {
        return new UncheckedIOException(e);
    }
}
