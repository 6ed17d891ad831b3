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
import org.sft4j.nd.Precision;
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

    /** Loads {@code dir} onto {@code device} with every weight in {@code dtype} (fp32, fp16, or bf16 with the extension). */
    static Decoder load(Path dir, Device device, DataType dtype) throws IOException {
        return load(dir, device, dtype, Compute.forPrecision(Precision.FP32));
    }

    /** As {@link #load(Path, Device, DataType)}, the model computing with {@code compute} (which stores the weights). */
    static Decoder load(Path dir, Device device, DataType dtype, Compute compute) throws IOException {
        DataTypes.requireSupported(dtype);
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
                Map<String, NDArray> loaded = TensorReader.readAll(files, expected.keySet(), manager, dtype);
                return Decoder.assemble(cfg, manager, dtype, compute, loaded::get);
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
                w.put(name, place(manager, a, dtype));
            }
            return Decoder.assemble(cfg, manager, dtype, compute, w::get);
        } catch (RuntimeException ex) {
            manager.close();
            throw ex;
        }
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
