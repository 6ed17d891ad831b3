package org.sft4j.model;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.util.List;
import org.sft4j.model.io.CheckpointFiles;
import org.sft4j.model.io.TensorInfo;
import org.sft4j.nd.Compute;
import org.sft4j.nd.Engines;
import org.sft4j.nd.Precision;
import org.sft4j.nd.Tensors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;

/**
 * Turns a Hugging Face checkpoint directory (or a seed) into a {@link Decoder}: every expected tensor
 * is looked up by name and its shape checked before anything is built.
 */
final class WeightLoader {

    private static final Logger LOG = LoggerFactory.getLogger(WeightLoader.class);

    private WeightLoader() {}

    static Decoder load(Path dir, Device device, DataType dtype) throws IOException {
        return load(dir, device, dtype, Compute.forPrecision(Precision.FP32));
    }

    /** As {@link #load(Path, Device, DataType)}, the model computing with {@code compute} (which stores the weights). */
    static Decoder load(Path dir, Device device, DataType dtype, Compute compute) throws IOException {
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
                Map<String, NDArray> loaded = readAll(files, expected, manager, device, dtype);
                return Decoder.assemble(cfg, manager, dtype, compute, loaded::get);
            } catch (IOException | RuntimeException ex) {
                manager.close();
                throw ex;
            }
        }
    }

    /**
     * Reads every tensor, several at once. On CPU in fp32 each tensor is created uninitialised and the
     * file's values are converted straight into its memory (no zeroing, no second copy); elsewhere they
     * go through a direct buffer that DJL copies to the device.
     */
    private static Map<String, NDArray> readAll(CheckpointFiles files, Map<String, long[]> expected, NDManager manager,
                                                Device device, DataType dtype) throws IOException {
        boolean direct = !device.isGpu() && dtype == DataType.FLOAT32;
        Map<String, NDArray> loaded = new java.util.concurrent.ConcurrentHashMap<>();
        int threads = Integer.getInteger("sft4j.loadThreads", Math.max(1, Math.min(4, Runtime.getRuntime().availableProcessors())));
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(threads);
        try {
            List<java.util.concurrent.Future<?>> jobs = new java.util.ArrayList<>();
            for (Map.Entry<String, long[]> e : expected.entrySet()) {
                jobs.add(pool.submit(() -> {
                    Shape shape = new Shape(e.getValue());
                    NDArray a;
                    if (direct) {
                        a = Tensors.uninitializedFloat32(manager, shape);
                        files.fileOf(e.getKey()).readAsFloat32Into(e.getKey(), Tensors.hostMemory(a));
                    } else {
                        ByteBuffer buf = files.fileOf(e.getKey()).readAsFloat32(e.getKey());
                        a = manager.create(buf, shape, DataType.FLOAT32);
                    }
                    loaded.put(e.getKey(), place(manager, a, dtype));
                    return null;
                }));
            }
            for (java.util.concurrent.Future<?> j : jobs) {
                try {
                    j.get();
                } catch (java.util.concurrent.ExecutionException ex) {
                    Throwable c = ex.getCause();
                    if (c instanceof IOException io) {
                        throw io;
                    }
                    if (c instanceof RuntimeException re) {
                        throw re;
                    }
                    throw new IOException(c);
                } catch (InterruptedException ex) {
                    Thread.currentThread().interrupt();
                    throw new IOException("interrupted while loading", ex);
                }
            }
            return loaded;
        } finally {
            pool.shutdown();
        }
    }

    static Decoder randomInit(ModelConfig cfg, long seed, Device device, DataType dtype, Compute compute) {
        NDManager manager = Engines.newManager(device);
        Random rnd = new Random(seed);
        Map<String, NDArray> w = new HashMap<>();
        for (Map.Entry<String, long[]> e : Decoder.expectedShapes(cfg).entrySet()) {
            String name = e.getKey();
            long n = Arrays.stream(e.getValue()).reduce(1, (a, b) -> a * b);
            ByteBuffer buf = ByteBuffer.allocateDirect(Math.toIntExact(n * 4)).order(ByteOrder.nativeOrder());
            java.nio.FloatBuffer f = buf.asFloatBuffer();
            boolean norm = name.endsWith("norm.weight");
            boolean bias = name.endsWith(".bias");
            for (long i = 0; i < n; i++) {
                f.put(norm ? 1f : bias ? 0f : (float) (rnd.nextGaussian() * cfg.initializerRange()));
            }
            w.put(name, place(manager, manager.create(buf, new Shape(e.getValue()), DataType.FLOAT32), dtype));
        }
        return Decoder.assemble(cfg, manager, dtype, compute, w::get);
    }

    /** Converts to the compute dtype and makes {@code manager} the only owner (outside any step scope). */
    static NDArray place(NDManager manager, NDArray a, DataType dtype) {
        NDArray out = a;
        if (a.getDataType() != dtype) {
            out = a.toType(dtype, false);
            a.close();
        }
        return Tensors.keep(out, manager);
    }

    static UncheckedIOException unchecked(IOException e) {
        return new UncheckedIOException(e);
    }
}
