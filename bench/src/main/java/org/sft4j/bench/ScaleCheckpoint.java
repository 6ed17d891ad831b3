package org.sft4j.bench;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import org.sft4j.model.Decoder;
import org.sft4j.model.ModelConfig;
import org.sft4j.model.ModelFiles;
import org.sft4j.model.ModelInputs;
import org.sft4j.model.io.NamedTensor;
import org.sft4j.model.io.SafetensorsWriter;
import org.sft4j.model.io.StDType;
import org.sft4j.model.io.TensorSource;
import org.sft4j.nd.Engines;
import org.sft4j.nd.NativeOps;
import org.sft4j.train.Memory;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;

/**
 * A checkpoint at a real model's size written and read back by sft4j, for transformers to check: random weights of
 * a config's shape initialised on the device, saved in bf16 as sharded safetensors with an index, loaded again (bf16
 * to fp32 master weights), and the logits of a few tokens written beside it. {@code bench/gpu/hf_scale_checkpoint.py}
 * then loads the directory with transformers and compares its logits. Prints times and the host's peak resident
 * growth of each step (the host never holds the model on a GPU run).
 *
 * <pre>java -Xmx4g -cp "LIB/*" org.sft4j.bench.ScaleCheckpoint CONFIG_DIR OUT_DIR [cpu|gpu] [SHARD_BYTES] [SEED]</pre>
 * writes {@code OUT_DIR/model/} and {@code OUT_DIR/model.logits.safetensors}.
 */
public final class ScaleCheckpoint {

    public static void main(String[] args) throws Exception {
        Path cfgDir = Path.of(args[0]);
        Path out = Files.createDirectories(Path.of(args[1]));
        Device device = Engines.device(args.length > 2 ? args[2] : "auto");
        long shardBytes = args.length > 3 ? Long.parseLong(args[3]) : ModelFiles.DEFAULT_SHARD_BYTES;
        long seed = args.length > 4 ? Long.parseLong(args[4]) : 0;
        ModelConfig cfg = ModelConfig.read(cfgDir);
        Path saved = out.resolve("model");

        ModelLoadBench.resetPeakResident();
        double rss = Memory.residentMb();
        long t0 = System.nanoTime();
        long params;
        try (Decoder model = Decoder.randomInit(cfg, seed, device)) {
            Bench.waitFor(model);
            params = model.baseParameters().stream().mapToLong(p -> p.array().size()).sum();
            step("random init, fp32 on " + device + ", " + params + " parameters", t0, rss);
            ModelLoadBench.resetPeakResident();
            long t1 = System.nanoTime();
            ModelFiles.saveModel(model, saved, StDType.BF16, cfgDir, shardBytes);
            step("saved as bf16 safetensors (" + describe(saved) + ")", t1, rss);
        }
        ModelLoadBench.resetPeakResident();
        long t2 = System.nanoTime();
        try (Decoder model = Decoder.load(saved, device)) {
            Bench.waitFor(model);
            step("loaded back, bf16 -> fp32 on " + device + (NativeOps.available() ? " (cast on the device)" : ""), t2, rss);
            long t3 = System.nanoTime();
            writeLogits(model, out.resolve("model.logits.safetensors"));
            step("logits of 2 x 8 tokens written", t3, rss);
        }
        System.out.println("check with transformers: python3 bench/gpu/hf_scale_checkpoint.py " + saved);
    }

    private static void step(String what, long start, double rssBefore) {
        Bench.row(what, String.format("%.1f s, host peak resident growth %.0f MiB", (System.nanoTime() - start) / 1e9,
                Memory.peakResidentMb() - rssBefore));
    }

    private static String describe(Path dir) throws Exception {
        try (Stream<Path> s = Files.list(dir)) {
            List<Path> files = s.filter(p -> p.toString().endsWith(".safetensors")).toList();
            long bytes = 0;
            for (Path f : files) {
                bytes += Files.size(f);
            }
            return String.format("%d file(s), %.2f GB%s", files.size(), bytes / 1e9,
                    Files.exists(dir.resolve("model.safetensors.index.json")) ? ", with index" : "");
        }
    }

    /** Logits of two seeded rows of 8 tokens, with the tokens and the mask, as hf_interop.py reads them. */
    static void writeLogits(Decoder model, Path file) throws Exception {
        int rows = 2;
        int cols = 8;
        Random r = new Random(1);
        long[][] ids = new long[rows][cols];
        int[][] mask = new int[rows][cols];
        long[][] pos = new long[rows][cols];
        ByteBuffer ib = ByteBuffer.allocate(rows * cols * 8).order(ByteOrder.LITTLE_ENDIAN);
        ByteBuffer mb = ByteBuffer.allocate(rows * cols * 8).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < cols; j++) {
                ids[i][j] = r.nextInt(model.config().vocabSize());
                mask[i][j] = 1;
                pos[i][j] = j;
                ib.putLong(ids[i][j]);
                mb.putLong(1);
            }
        }
        ib.flip();
        mb.flip();
        try (NDScope scope = new NDScope(); NDManager step = model.manager().newSubManager()) {
            NDArray logits = model.logits(model.forward(new ModelInputs(ids, pos, mask, null), step, null, false));
            SafetensorsWriter.writeFile(file, List.of(TensorSource.of("logits", logits, StDType.F32),
                    new NamedTensor("input_ids", StDType.I64, new long[] {rows, cols}, () -> ib.duplicate()),
                    new NamedTensor("attention_mask", StDType.I64, new long[] {rows, cols}, () -> mb.duplicate())),
                    Map.of("producer", "sft4j"));
        }
    }
}
