package org.sft4j.bench;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.sft4j.model.Decoder;
import org.sft4j.model.ModelConfig;
import org.sft4j.model.ModelFiles;
import org.sft4j.model.io.CheckpointFiles;
import org.sft4j.model.io.HalfFloats;
import org.sft4j.model.io.NamedTensor;
import org.sft4j.model.io.SafetensorsWriter;
import org.sft4j.model.io.StDType;
import org.sft4j.model.io.TensorReader;
import org.sft4j.nd.Engines;
import org.sft4j.train.Memory;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Stream;

/**
 * The model-loading benchmark: load a bf16 checkpoint shaped by a config.json (random weights, written here,
 * sharded with an index) onto a device in a given dtype, against reading its bytes into memory in the same run
 * (target: load <= 2x read), and the growth of the process's peak resident memory during a load: against the loaded
 * weights on CPU (target <= 1.3x), against the checkpoint on a GPU (the host holds chunks, never the model).
 *
 * <pre>
 * bench/run model-load CONFIG_DIR WORK_DIR --write [SHARD_BYTES]     # once: the random bf16 checkpoint
 * bench/run model-load CONFIG_DIR WORK_DIR [cpu|gpu [float32|bfloat16|float16]]
 * </pre>
 * float32 loads through {@code Decoder.load}; the other types read the same tensors with the loader's
 * {@code TensorReader.readAll} (a Decoder is built in fp32 until precision is chosen at load; bfloat16 needs the
 * native extension).
 */
public final class ModelLoadBench {

    public static void main(String[] args) throws Exception {
        Path cfgDir = Path.of(args[0]);
        Path dir = Path.of(args[1]);
        if (args.length > 2 && args[2].equals("--write")) {
            write(cfgDir, dir, args.length > 3 ? Long.parseLong(args[3]) : ModelFiles.DEFAULT_SHARD_BYTES);
            return;
        }
        Device device = Engines.device(args.length > 2 ? args[2] : "cpu");
        DataType dtype = args.length > 3 ? dataType(args[3]) : DataType.FLOAT32;
        List<Path> files = safetensors(dir);
        long bytes = 0;
        for (Path f : files) {
            bytes += Files.size(f);
        }
        streamAll(files);                                 // warm the page cache for both measurements
        resetPeakResident();
        double rssBefore = Memory.residentMb();
        long t0 = System.nanoTime();
        long params = load(dir, device, dtype);
        double first = (System.nanoTime() - t0) / 1e9;
        double peakGrowth = Memory.peakResidentMb() - rssBefore;
        double weightsMb = params * (double) bytesPer(dtype) / 1048576.0;
        double[] read = new double[5];
        double[] load = new double[5];
        for (int i = 0; i < 5; i++) {
            long r0 = System.nanoTime();
            readIntoMemory(files);
            read[i] = (System.nanoTime() - r0) / 1e9;
            long l0 = System.nanoTime();
            load(dir, device, dtype);
            load[i] = (System.nanoTime() - l0) / 1e9;
        }
        Bench.row("checkpoint", String.format("%s: %d file(s), %.0f MB bf16, %d parameters", dir, files.size(),
                bytes / 1e6, params));
        Bench.row("read its bytes into memory (median of 5)", String.format("%.3f s (%.2f GB/s)", Bench.median(read),
                bytes / 1e9 / Bench.median(read)));
        Bench.row(String.format("load to %s on %s (median of 5; first)", name(dtype), device),
                String.format("%.3f s (%.3f s)", Bench.median(load), first));
        Bench.row("ratio load/read (target <= 2.0)", String.format("%.2f", Bench.median(load) / Bench.median(read)));
        Bench.row("loaded weights", String.format("%.0f MiB", weightsMb));
        Bench.row("peak resident growth during the first load", String.format("%.0f MiB", peakGrowth));
        if (device.isGpu()) {
            Bench.row("ratio growth/checkpoint (host holds chunks only)", String.format("%.3f", peakGrowth / (bytes / 1048576.0)));
        } else {
            Bench.row("ratio growth/weights (target <= 1.3)", String.format("%.2f", peakGrowth / weightsMb));
        }
    }

    /** Loads every weight and frees it again; returns the parameter count. */
    private static long load(Path dir, Device device, DataType dtype) throws Exception {
        if (dtype == DataType.FLOAT32) {
            try (Decoder d = Decoder.load(dir, device)) {
                Bench.waitFor(d);
                return d.baseParameters().stream().mapToLong(p -> p.array().size()).sum();
            }
        }
        ModelConfig cfg = ModelConfig.read(dir);
        try (CheckpointFiles files = CheckpointFiles.open(dir, "model");
             NDManager manager = Engines.newManager(device)) {
            Map<String, NDArray> loaded = TensorReader.readAll(files, Decoder.expectedShapes(cfg).keySet(), manager, dtype);
            long n = 0;
            NDArray last = null;
            for (NDArray a : loaded.values()) {
                n += a.size();
                last = a;
            }
            org.sft4j.nd.Tensors.toFloats(last.get(0));   // reading a value back waits for the device's queued casts
            return n;
        }
    }

    private static DataType dataType(String s) {
        return switch (s) {
            case "float32" -> DataType.FLOAT32;
            case "bfloat16" -> DataType.BFLOAT16;
            case "float16" -> DataType.FLOAT16;
            default -> throw new IllegalArgumentException("dtype '" + s + "': float32, bfloat16 or float16");
        };
    }

    private static String name(DataType t) {
        return t == DataType.FLOAT32 ? "fp32" : t == DataType.BFLOAT16 ? "bf16" : "fp16";
    }

    private static int bytesPer(DataType t) {
        return t == DataType.FLOAT32 ? 4 : 2;
    }

    static List<Path> safetensors(Path dir) throws Exception {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> p.getFileName().toString().endsWith(".safetensors")).sorted().toList();
        }
    }

    /**
     * Reads the checkpoint into fresh memory of its size, as a program that wants the bytes does (heap buffers of up to
     * 1 GiB, since one Java buffer holds at most 2 GiB; a checkpoint of N GB needs -Xmx above N GB).
     */
    static List<ByteBuffer> readIntoMemory(List<Path> files) throws Exception {
        List<ByteBuffer> held = new ArrayList<>();
        for (Path f : files) {
            try (FileChannel ch = FileChannel.open(f, StandardOpenOption.READ)) {
                for (long left = ch.size(); left > 0; ) {
                    ByteBuffer buf = ByteBuffer.allocate((int) Math.min(left, 1L << 30));
                    while (buf.hasRemaining() && ch.read(buf) > 0) {
                        // keep reading
                    }
                    left -= buf.capacity();
                    held.add(buf);
                }
            }
        }
        return held;
    }

    /** Streams the files through one 8 MiB buffer (no memory of the checkpoint's size touched). */
    static void streamAll(List<Path> files) throws Exception {
        ByteBuffer buf = ByteBuffer.allocateDirect(8 << 20);
        for (Path f : files) {
            try (FileChannel ch = FileChannel.open(f, StandardOpenOption.READ)) {
                while (ch.read(buf) > 0) {
                    buf.clear();
                }
            }
        }
    }

    /** Resets the peak resident set size (Linux 4.0+: "5" to clear_refs), so VmHWM measures what follows. */
    static void resetPeakResident() {
        try {
            Files.writeString(Path.of("/proc/self/clear_refs"), "5");
        } catch (Exception e) {
            System.err.println("cannot reset the peak resident size (" + e.getMessage() + "): the peak includes earlier work");
        }
    }

    /**
     * Writes config.json and a bf16 checkpoint (shards of at most {@code shardBytes} and an index) whose weights are
     * uniform with std 0.02, generated a chunk at a time (no tensor is held whole, so any shape can be written on a
     * small machine; the distribution does not matter to loading).
     */
    static void write(Path cfgDir, Path dir, long shardBytes) throws Exception {
        Files.createDirectories(dir);
        ObjectMapper om = new ObjectMapper();
        ObjectNode raw = (ObjectNode) om.readTree(cfgDir.resolve("config.json").toFile());
        raw.put("torch_dtype", "bfloat16");
        ModelConfig cfg = ModelConfig.fromJson(raw);
        Files.writeString(dir.resolve("config.json"), om.writerWithDefaultPrettyPrinter().writeValueAsString(raw));
        List<NamedTensor> tensors = new ArrayList<>();
        SplittableRandom rnd = new SplittableRandom(0);
        float half = (float) (0.02 * Math.sqrt(3));
        for (Map.Entry<String, long[]> e : Decoder.expectedShapes(cfg).entrySet()) {
            boolean norm = e.getKey().endsWith("norm.weight");
            NamedTensor t = new NamedTensor(e.getKey(), StDType.BF16, e.getValue(), (NamedTensor.Bytes) out -> {
                ByteBuffer b = ByteBuffer.allocate(8 << 20).order(ByteOrder.LITTLE_ENDIAN);
                long count = 1;
                for (long d : e.getValue()) {
                    count *= d;
                }
                for (long i = 0; i < count; ) {
                    b.clear();
                    for (; b.remaining() >= 2 && i < count; i++) {
                        b.putShort(HalfFloats.floatToBf16(norm ? 1f : (rnd.nextFloat() * 2 - 1) * half));
                    }
                    b.flip();
                    while (b.hasRemaining()) {
                        out.write(b);
                    }
                }
            });
            tensors.add(t);
        }
        tensors.sort(java.util.Comparator.comparing(NamedTensor::name, SafetensorsWriter.STATE_DICT_ORDER));
        List<Path> written = SafetensorsWriter.writeSharded(dir, "model", tensors, shardBytes);
        long total = 0;
        for (Path p : written) {
            total += Files.size(p);
        }
        System.out.println("wrote " + written.size() + " file(s) in " + dir + " (" + total + " bytes)");
    }
}
