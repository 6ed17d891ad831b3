package org.sft4j.bench;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import org.sft4j.model.Decoder;
import org.sft4j.model.ModelFiles;
import org.sft4j.model.ModelInputs;
import org.sft4j.model.Parameter;
import org.sft4j.model.lora.LoraConfig;
import ai.djl.ndarray.types.DataType;
import org.sft4j.model.io.NamedTensor;
import org.sft4j.model.io.SafetensorsWriter;
import org.sft4j.model.io.StDType;
import org.sft4j.nd.StepScope;
import org.sft4j.nd.Tensors;
import org.sft4j.testing.Expected;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * Saves the fixture models of every family with sft4j (fp32 and bf16; the LoRA fixture merged into llama; an adapter
 * with non-zero B merged into each of qwen3, gemma3 and phi3, on every projection, Phi-3's fused ones included),
 * reloads each saved directory, and writes the logits sft4j computes from it beside it, for
 * {@code bench/gpu/hf_interop.py} to load the same directories with transformers and compare.
 *
 * <pre>java ... org.sft4j.bench.HfInteropExport FIXTURES_MODELS_DIR OUT_DIR</pre>
 */
public final class HfInteropExport {

    public static void main(String[] args) throws Exception {
        Path models = Path.of(args[0]);
        Path out = Files.createDirectories(Path.of(args[1]));
        for (String name : GpuParity.FAMILIES) {
            for (StDType type : List.of(StDType.F32, StDType.BF16)) {
                try (Decoder m = Decoder.load(models.resolve(name), Device.cpu())) {
                    String saved = name + "-" + type.name().toLowerCase();
                    ModelFiles.saveModel(m, out.resolve(saved), type, models.resolve(name), ModelFiles.DEFAULT_SHARD_BYTES);
                    writeLogits(out.resolve(saved), models.resolve(name), out.resolve(saved + ".logits.safetensors"));
                }
            }
        }
        try (Decoder m = Decoder.load(models.resolve("llama"), Device.cpu())) {
            ModelFiles.loadAdapter(m, models.resolve("llama-lora"));
            m.mergeLora();
            ModelFiles.saveModel(m, out.resolve("llama-lora-merged"), StDType.F32, models.resolve("llama"), ModelFiles.DEFAULT_SHARD_BYTES);
            writeLogits(out.resolve("llama-lora-merged"), models.resolve("llama"), out.resolve("llama-lora-merged.logits.safetensors"));
        }
        for (String name : List.of("qwen3", "gemma3", "phi3")) {
            try (Decoder m = Decoder.load(models.resolve(name), Device.cpu())) {
                m.addLora(new LoraConfig(4, 8, 0, List.of("all")), 17);
                randomB(m);
                m.mergeLora();
                String saved = name + "-lora-merged";
                ModelFiles.saveModel(m, out.resolve(saved), StDType.F32, models.resolve(name), ModelFiles.DEFAULT_SHARD_BYTES);
                writeLogits(out.resolve(saved), models.resolve(name), out.resolve(saved + ".logits.safetensors"));
            }
        }
        Path gemma2 = GpuParity.gemma2Models(models).resolve("gemma2");
        if (Files.isDirectory(gemma2)) {   // the repository's own fixture (soft-capping)
            try (Decoder m = Decoder.load(gemma2, Device.cpu())) {
                ModelFiles.saveModel(m, out.resolve("gemma2-f32"), StDType.F32, gemma2, ModelFiles.DEFAULT_SHARD_BYTES);
                writeLogits(out.resolve("gemma2-f32"), gemma2, out.resolve("gemma2-f32.logits.safetensors"));
            }
        }
        System.out.println("wrote " + out);
    }

    /** Gives every adapter a non-zero B, so that merging changes the weights. */
    private static void randomB(Decoder m) {
        boolean was = Tensors.gradMode(false);
        try {
            for (Parameter p : m.loraParameters()) {
                if (p.name().contains("lora_B")) {
                    Tensors.copyInto(p.array(), p.array().getManager().randomNormal(0, 0.05f, p.array().getShape(),
                            DataType.FLOAT32));
                }
            }
        } finally {
            Tensors.gradMode(was);
        }
    }

    /** Reloads {@code saved} and writes its logits on the fixture's inputs (and the inputs) to {@code file}. */
    private static void writeLogits(Path saved, Path fixture, Path file) throws Exception {
        try (Expected exp = new Expected(fixture.resolve("expected.safetensors"));
             Decoder m = Decoder.load(saved, Device.cpu());
             StepScope scope = StepScope.open(m.manager())) {
            NDManager step = scope.manager();
            long[][] ids = exp.longs("input_ids");
            int[][] mask = exp.ints("attention_mask");
            float[] logits = Tensors.toFloats(m.logits(m.forward(new ModelInputs(ids, Expected.positions(ids), mask, null), step, null, false)));
            long rows = ids.length;
            long cols = ids[0].length;
            ByteBuffer lb = ByteBuffer.allocate(logits.length * 4).order(ByteOrder.LITTLE_ENDIAN);
            lb.asFloatBuffer().put(logits);
            ByteBuffer ib = ByteBuffer.allocate((int) (rows * cols * 8)).order(ByteOrder.LITTLE_ENDIAN);
            ByteBuffer mb = ByteBuffer.allocate((int) (rows * cols * 8)).order(ByteOrder.LITTLE_ENDIAN);
            for (int i = 0; i < rows; i++) {
                for (int j = 0; j < cols; j++) {
                    ib.putLong(ids[i][j]);
                    mb.putLong(mask[i][j]);
                }
            }
            ib.flip();
            mb.flip();
            SafetensorsWriter.writeFile(file, List.of(
                    new NamedTensor("logits", StDType.F32, new long[] {rows, cols, logits.length / (rows * cols)}, () -> lb.duplicate()),
                    new NamedTensor("input_ids", StDType.I64, new long[] {rows, cols}, () -> ib.duplicate()),
                    new NamedTensor("attention_mask", StDType.I64, new long[] {rows, cols}, () -> mb.duplicate())),
                    Map.of("producer", "sft4j"));
        }
    }
}
