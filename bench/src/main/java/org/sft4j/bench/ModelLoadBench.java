package org.sft4j.bench;

import ai.djl.Device;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.sft4j.model.Decoder;
import org.sft4j.model.ModelConfig;
import org.sft4j.model.io.HalfFloats;
import org.sft4j.model.io.NamedTensor;
import org.sft4j.model.io.SafetensorsWriter;
import org.sft4j.model.io.StDType;
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

/**
 * The model issue's benchmark: load a Qwen2.5-0.5B-shaped bf16 checkpoint (random weights written here)
 * and compare with reading its bytes in the same run (target: load <= 2x read), and the resident-memory
 * growth of loading against the loaded fp32 weights (target <= 1.3x).
 *
 * <pre>bench/run model-load QWEN_CONFIG_DIR WORK_DIR</pre>
 */
public final class ModelLoadBench {

    public static void main(String[] args) throws Exception {
        Path cfgDir = Path.of(args[0]);
        Path dir = Path.of(args[1]);
        if (args.length > 2 && args[2].equals("--write")) {
            write(cfgDir, dir);
            return;
        }
        Path file = dir.resolve("model.safetensors");
        long bytes = Files.size(file);
        readAll(file);                                   // warm the page cache for both measurements
        double rssBefore = Memory.residentMb();
        long params;
        double first;
        long t0 = System.nanoTime();
        try (Decoder d = Decoder.load(dir, Device.cpu())) {
            first = (System.nanoTime() - t0) / 1e9;
            params = d.baseParameters().stream().mapToLong(p -> p.array().size()).sum();
        }
        double peakGrowth = Memory.peakResidentMb() - rssBefore;
        double weightsMb = params * 4 / 1048576.0;
        double[] read = new double[5];
        double[] stream = new double[5];
        double[] load = new double[5];
        for (int i = 0; i < 5; i++) {
            long r0 = System.nanoTime();
            readIntoMemory(file);
            read[i] = (System.nanoTime() - r0) / 1e9;
            long s0 = System.nanoTime();
            readAll(file);
            stream[i] = (System.nanoTime() - s0) / 1e9;
            long l0 = System.nanoTime();
            try (Decoder d = Decoder.load(dir, Device.cpu())) {
                load[i] = (System.nanoTime() - l0) / 1e9;
            }
        }
        Bench.row("checkpoint", String.format("%s: %.0f MB bf16, %d parameters", file, bytes / 1e6, params));
        Bench.row("read its bytes into memory (median of 5)", String.format("%.3f s (%.2f GB/s)", Bench.median(read),
                bytes / 1e9 / Bench.median(read)));
        Bench.row("stream its bytes through one 8 MiB buffer (info)", String.format("%.3f s", Bench.median(stream)));
        Bench.row("load to fp32 (median of 5; first load)", String.format("%.3f s (%.3f s)", Bench.median(load), first));
        Bench.row("ratio load/read (target <= 2.0)", String.format("%.2f", Bench.median(load) / Bench.median(read)));
        Bench.row("loaded fp32 weights", String.format("%.0f MiB", weightsMb));
        Bench.row("peak resident growth during first load", String.format("%.0f MiB", peakGrowth));
        Bench.row("ratio growth/weights (target <= 1.3)", String.format("%.2f", peakGrowth / weightsMb));
    }

    /** Reads the whole file into a buffer of its size, as a program that wants the bytes does. */
    static byte[] readIntoMemory(Path f) throws Exception {
        ByteBuffer buf = ByteBuffer.allocate(Math.toIntExact(Files.size(f)));
        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.READ)) {
            while (buf.hasRemaining() && ch.read(buf) > 0) {
                // keep reading
            }
        }
        return buf.array();
    }

    /** Streams the whole file through one 8 MiB buffer (no memory of the file's size touched). */
    static void readAll(Path f) throws Exception {
        ByteBuffer buf = ByteBuffer.allocateDirect(8 << 20);
        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.READ)) {
            while (ch.read(buf) > 0) {
                buf.clear();
            }
        }
    }

    /** Writes config.json and a single-file bf16 checkpoint with normal(0, 0.02) weights. */
    static void write(Path cfgDir, Path dir) throws Exception {
        Files.createDirectories(dir);
        ObjectMapper om = new ObjectMapper();
        ObjectNode raw = (ObjectNode) om.readTree(cfgDir.resolve("config.json").toFile());
        raw.put("torch_dtype", "bfloat16");
        ModelConfig cfg = ModelConfig.fromJson(raw);
        Files.writeString(dir.resolve("config.json"), om.writerWithDefaultPrettyPrinter().writeValueAsString(raw));
        List<NamedTensor> tensors = new ArrayList<>();
        SplittableRandom rnd = new SplittableRandom(0);
        for (Map.Entry<String, long[]> e : Decoder.expectedShapes(cfg).entrySet()) {
            long[] shape = e.getValue();
            long n = 1;
            for (long d : shape) {
                n *= d;
            }
            long count = n;
            boolean norm = e.getKey().endsWith("norm.weight");
            tensors.add(new NamedTensor(e.getKey(), StDType.BF16, shape, () -> {
                ByteBuffer b = ByteBuffer.allocate((int) (count * 2)).order(ByteOrder.LITTLE_ENDIAN);
                for (long i = 0; i < count; i++) {
                    b.putShort(HalfFloats.floatToBf16(norm ? 1f : (float) (rnd.nextGaussian() * 0.02)));
                }
                return b.flip();
            }));
        }
        SafetensorsWriter.writeFile(dir.resolve("model.safetensors"), tensors, Map.of());
        System.out.println("wrote " + dir.resolve("model.safetensors") + " (" + Files.size(dir.resolve("model.safetensors")) + " bytes)");
    }

}
