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
        LinkedHashMap<String, long[]> expected = Decoder.expectedShapes(cfg);
        try (CheckpointFiles files = CheckpointFiles.open(dir, "model")) {
            for (Map.Entry<String, long[]> e : expected.entrySet()) {
                if (!files.contains(e.getKey())) {
                    throw new IOException(dir + ": the checkpoint is missing tensor '" + e.getKey()
                            + "' (expected shape " + Arrays.toString(e.getValue()) + ")");
                }
                TensorInfo info = files.info(e.getKey());
                if (!Arrays.equals(info.shape(), e.getValue())) {
                    throw new IOException(dir + ": tensor '" + e.getKey() + "' has shape "
                            + Arrays.toString(info.shape()) + ", config.json implies " + Arrays.toString(e.getValue()));
                }
                if (!info.dtype().isFloat()) {
                    throw new IOException(dir + ": tensor '" + e.getKey() + "' is " + info.dtype()
                            + "; quantized checkpoints are not supported");
                }
            }
            Set<String> unused = new TreeSet<>(files.names());
            unused.removeAll(expected.keySet());
            unused.removeIf(n -> n.endsWith("rotary_emb.inv_freq") || (cfg.tieWordEmbeddings() && n.equals("lm_head.weight")));
            if (!unused.isEmpty()) {
                LOG.warn("{}: {} checkpoint tensors are not used by the decoder, e.g. {}", dir, unused.size(),
                        unused.iterator().next());
            }
            NDManager manager = Engines.newManager(device);
            try {
                Map<String, NDArray> loaded = TensorReader.readAll(files, expected.keySet(), manager,
                        name -> compute.weightType(frozenBase && frozenMatrix(name, cfg)));
                return Decoder.assemble(cfg, manager, DataType.FLOAT32, compute, frozenBase, loaded::get);
            } catch (IOException | RuntimeException ex) {
                manager.close();
                throw ex;
            }
        }
    }

    /**
     * Weights initialised as transformers does (normal(0, initializer_range), norms 1, biases 0), generated on the
     * device by torch's generator seeded with {@code seed} (the same values for the same seed and device type).
     */
    static Decoder randomInit(ModelConfig cfg, long seed, Device device, DataType dtype, Compute compute) {
        DataTypes.requireSupported(dtype);
        NDManager manager = Engines.newManager(device);
        try {
            Engines.seedTorch(seed);
            Map<String, NDArray> w = new HashMap<>();
            for (Map.Entry<String, long[]> e : Decoder.expectedShapes(cfg).entrySet()) {
                String name = e.getKey();
                Shape shape = new Shape(e.getValue());
                NDArray a = name.endsWith("norm.weight") ? manager.ones(shape)
                        : name.endsWith(".bias") ? manager.zeros(shape)
                        : manager.randomNormal(0f, (float) cfg.initializerRange(), shape, DataType.FLOAT32);
                // converted as it is made: a 16-bit model never holds all its weights in fp32
                w.put(name, place(manager, a, dtype == DataType.FLOAT32 ? compute.weightType(false) : dtype));
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
