package org.sft4j.model.io;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import org.sft4j.nd.DataTypes;
import org.sft4j.nd.FlatTensor;
import org.sft4j.nd.Tensors;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

/**
 * Reads a stored tensor into a new array of the type the caller wants (fp32, fp16 or bf16) on a manager's device,
 * a chunk at a time, so tensors of any size load.
 *
 * <p>On CPU the file is read, and converted on the host when the types differ, straight into the new tensor's
 * memory. On a GPU the stored bytes go over as they are and are converted on the device after the transfer,
 * except for types DJL cannot hold there (bf16 without the native extension, f64), which the host turns into fp32
 * first. Peak host memory per loading thread: one chunk of stored bytes ({@link Elements#CHUNK_BYTES}) and one
 * converted chunk (at most twice that), never a whole tensor.
 */
public final class TensorReader {

    private static final ThreadLocal<ByteBuffer> STORED = ThreadLocal.withInitial(() -> direct(Elements.CHUNK_BYTES));
    private static final ThreadLocal<ByteBuffer> CONVERTED =
            ThreadLocal.withInitial(() -> direct(2 * Elements.CHUNK_BYTES));

    private TensorReader() {}

    /**
     * Tensor {@code name} of {@code file} as a new array of {@code dtype} owned by {@code manager}, on its device.
     * Safe to call from several threads at once.
     */
    public static NDArray read(SafetensorsFile file, String name, NDManager manager, DataType dtype) throws IOException {
        requireFloat(file, file.info(name));
        NDArray a = DataTypes.empty(manager, new Shape(file.info(name).shape()), dtype);
        try {
            readInto(file, name, a);
            Tensors.keep(a, manager);   // owned by the manager, not by a step scope the caller may be in
            return a;
        } catch (IOException | RuntimeException e) {
            a.close();
            throw e;
        }
    }

    /**
     * Overwrites {@code target} (contiguous, without gradients, e.g. optimizer state) with tensor {@code name} of
     * {@code file}, converted to the target's type; the shapes must agree.
     */
    public static void readInto(SafetensorsFile file, String name, NDArray target) throws IOException {
        readInto(file, name, target, target.getDevice().isGpu());
    }

    /** As {@link #readInto(SafetensorsFile, String, NDArray)}; {@code upload}: by chunks sent over (a GPU's way). */
    static void readInto(SafetensorsFile file, String name, NDArray target, boolean upload) throws IOException {
        TensorInfo t = file.info(name);
        requireFloat(file, t);
        long[] shape = target.getShape().getShape();
        if (!Arrays.equals(shape, t.shape())) {
            throw new IOException(file.path() + ": tensor '" + name + "' has shape " + Arrays.toString(t.shape())
                    + ", expected " + Arrays.toString(shape));
        }
        try (FlatTensor flat = FlatTensor.of(target)) {
            copyRange(file, t, 0, t.numel(), flat, 0, upload);
        }
    }

    /**
     * Writes elements {@code [from, from + count)} of tensor {@code name} (flattened) into elements
     * {@code [at, at + count)} of the flat, contiguous {@code target}, converted to its type: a rank's slice of a
     * sharded model read without the rest of the tensor.
     */
    public static void readRange(SafetensorsFile file, String name, long from, long count, NDArray target, long at)
            throws IOException {
        TensorInfo t = file.info(name);
        requireFloat(file, t);
        if (from < 0 || count < 0 || from + count > t.numel() || at < 0 || at + count > target.size()) {
            throw new IllegalArgumentException("elements [" + from + ", " + (from + count) + ") of '" + name + "' ("
                    + t.numel() + ") into [" + at + ", " + (at + count) + ") of " + target.size());
        }
        try (FlatTensor flat = FlatTensor.of(target)) {
            copyRange(file, t, from, count, flat, at, target.getDevice().isGpu());
        }
    }

    private static void copyRange(SafetensorsFile file, TensorInfo t, long from, long count, FlatTensor flat, long at,
                                  boolean upload) throws IOException {
        if (upload) {
            upload(file, t, from, count, flat, at);
        } else {
            readInPlace(file, t, from, count, flat, at, stType(flat.dataType()));
        }
    }

    private static void requireFloat(SafetensorsFile file, TensorInfo t) throws IOException {
        if (!t.dtype().isFloat()) {
            throw new IOException(file.path() + ": tensor '" + t.name() + "' is " + t.dtype()
                    + ", not a floating point type (quantized checkpoints are not supported)");
        }
    }

    /**
     * Reads the named tensors of a checkpoint into new arrays of {@code dtype} owned by {@code manager}, several at
     * once ({@code -Dsft4j.loadThreads}, default up to 4). On failure the arrays read so far stay with the manager,
     * which the caller closes.
     */
    public static Map<String, NDArray> readAll(CheckpointFiles files, Collection<String> names, NDManager manager,
                                               DataType dtype) throws IOException {
        return readAll(files, names, manager, name -> dtype);
    }

    /** As {@link #readAll(CheckpointFiles, Collection, NDManager, DataType)}, each tensor in the type {@code dtypeOf} names. */
    public static Map<String, NDArray> readAll(CheckpointFiles files, Collection<String> names, NDManager manager,
                                               java.util.function.Function<String, DataType> dtypeOf)
            throws IOException {
        Map<String, NDArray> loaded = new ConcurrentHashMap<>();
        int threads = Integer.getInteger("sft4j.loadThreads",
                Math.max(1, Math.min(4, Runtime.getRuntime().availableProcessors())));
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            List<Future<?>> jobs = new ArrayList<>();
            for (String name : names) {
                jobs.add(pool.submit(() -> {
                    loaded.put(name, read(files.fileOf(name), name, manager, dtypeOf.apply(name)));
                    return null;
                }));
            }
            for (Future<?> j : jobs) {
                try {
                    j.get();
                } catch (ExecutionException ex) {
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
                    throw new IOException("interrupted while loading " + files.dir(), ex);
                }
            }
            Map<String, NDArray> ordered = new LinkedHashMap<>();
            for (String name : names) {
                ordered.put(name, loaded.get(name));
            }
            return ordered;
        } finally {
            // after a failure, stop the other reads before the caller closes the manager they write into
            pool.shutdownNow();
            try {
                pool.awaitTermination(1, TimeUnit.MINUTES);
            } catch (InterruptedException ex) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** CPU: each chunk of elements {@code [from, from + count)} is read (and converted) straight into the tensor's memory at {@code at}. */
    private static void readInPlace(SafetensorsFile file, TensorInfo t, long from, long count, FlatTensor flat,
                                    long at, StDType target) throws IOException {
        StDType stored = t.dtype();
        long perChunk = Elements.CHUNK_BYTES / stored.bytes();
        ByteBuffer raw = STORED.get();
        for (long done = 0; done < count; done += perChunk) {
            long n = Math.min(perChunk, count - done);
            ByteBuffer window = flat.window(at + done, n);
            if (stored == target) {
                file.read(t.name(), (from + done) * stored.bytes(), window);
            } else {
                raw.clear().limit((int) (n * stored.bytes()));
                file.read(t.name(), (from + done) * stored.bytes(), raw);
                Elements.convert(raw.flip(), stored, window, target);
            }
        }
    }

    /** Another device: stored bytes (or fp32 where DJL cannot hold the stored type) go over and are converted there. */
    private static void upload(SafetensorsFile file, TensorInfo t, long from, long count, FlatTensor flat, long at)
            throws IOException {
        StDType stored = t.dtype();
        StDType wire = holdable(stored) ? stored : StDType.F32;
        long perChunk = Elements.CHUNK_BYTES / stored.bytes();
        ByteBuffer raw = STORED.get();
        ByteBuffer converted = CONVERTED.get();
        for (long done = 0; done < count; done += perChunk) {
            long n = Math.min(perChunk, count - done);
            raw.clear().limit((int) (n * stored.bytes()));
            file.read(t.name(), (from + done) * stored.bytes(), raw);
            raw.flip();
            if (wire != stored) {
                converted.clear();
                Elements.convert(raw, stored, converted, wire);
                flat.upload(at + done, converted.flip(), dataType(wire));
            } else {
                flat.upload(at + done, raw, dataType(wire));
            }
        }
    }

    /** Whether an array of this stored type can exist here: fp32 and fp16 always, bf16 with the extension. */
    static boolean holdable(StDType t) {
        return t == StDType.F32 || t == StDType.F16 || (t == StDType.BF16 && DataTypes.canHoldBf16());
    }

    static DataType dataType(StDType t) {
        return switch (t) {
            case F32 -> DataType.FLOAT32;
            case F16 -> DataType.FLOAT16;
            case BF16 -> DataType.BFLOAT16;
            default -> throw new IllegalArgumentException("no array type for stored " + t);
        };
    }

    static StDType stType(DataType t) {
        return switch (t) {
            case FLOAT32 -> StDType.F32;
            case FLOAT16 -> StDType.F16;
            case BFLOAT16 -> StDType.BF16;
            default -> throw new IllegalArgumentException("weights can be float32, float16 or bfloat16, not " + t);
        };
    }

    private static ByteBuffer direct(int bytes) {
        return ByteBuffer.allocateDirect(bytes).order(ByteOrder.LITTLE_ENDIAN);
    }
}
