package org.sft4j.model;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;
import org.sft4j.model.io.CheckpointFiles;
import org.sft4j.model.io.TensorReader;
import org.sft4j.model.lora.LoraConfig;
import org.sft4j.nd.Compute;
import org.sft4j.nd.DataTypes;
import org.sft4j.nd.NativeOps;
import org.sft4j.nd.Precision;
import org.sft4j.nd.StepScope;
import org.sft4j.nd.Tensors;
import org.sft4j.testing.Shared;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * LoRA at PEFT's memory (issue 17): what a forward pass leaves for backward, measured as the growth of the process's
 * malloc'd bytes (where libtorch keeps CPU tensors) across it, with adapters on every projection against the same
 * model fully trainable (which keeps each projection's input for its weight gradient too). The adapters run in the
 * activations' type with their fp32 weights cast per product, so they keep no copy of their inputs of their own; the
 * frozen base is held in the products' type. And what a forward holds at its end besides: the arrays DJL frees only
 * when their scope closes, which used to be every layer's intermediates.
 */
class LoraMemoryTest {

    private static final int TOKENS = 512;

    @ParameterizedTest
    @EnumSource(value = Precision.class, names = {"BF16_TRUE", "BF16_MIXED"})
    void adaptersKeepNoMoreForBackwardThanFullFineTuning(Precision precision) throws Exception {
        assumeTrue(NativeOps.available() && NativeOps.hostAllocatedBytes() >= 0, "needs the native extension on glibc");
        ModelConfig cfg = wide();
        long full;
        try (Decoder model = Decoder.randomInit(cfg, 1, Device.cpu(), Compute.fused(precision))) {
            full = keptPerLayer(model);
        }
        long lora;
        try (Decoder model = Decoder.randomInit(cfg, 1, Device.cpu(), Compute.fused(precision))) {
            model.addLora(new LoraConfig(8, 16, 0, List.of("all")), 2);
            for (Projection p : model.projections()) {
                assertEquals(DataType.BFLOAT16, DataTypes.of(p.weight().array()), p.name() + ": a frozen base is bf16");
                assertEquals(DataType.FLOAT32, DataTypes.of(p.lora().a().array()), p.name() + ": adapters stay fp32");
            }
            lora = keptPerLayer(model);
        }
        // an fp32 copy of every adapted projection's input, as the adapters kept before, would add this per layer:
        long fp32Inputs = 4L * TOKENS * (6L * cfg.hiddenSize() + cfg.intermediateSize());
        System.out.printf("%s, kept for backward per layer: full fine-tuning %,d B, LoRA r8 on every projection %,d B "
                + "(fp32 copies of the adapters' inputs would add %,d B)%n", precision, full, lora, fp32Inputs);
        assertTrue(full > fp32Inputs / 4, "the measure sees the activations: " + full);
        assertTrue(lora < full + fp32Inputs / 10, precision + ": LoRA keeps " + lora + " B per layer, full " + full);
    }

    /**
     * At the end of a training forward nothing of size is allocated beyond what autograd keeps for backward. Every
     * layer's intermediates were: each adapted projection's base product, adapter output and its scaled copy, a full
     * model's RoPE and residual temporaries and each layer's output stayed allocated until the whole forward ended,
     * the step's peak (the 7 GiB a 7B LoRA step at 1x2048 took above PEFT's on the H200).
     */
    @ParameterizedTest
    @CsvSource({"BF16_TRUE, 0", "BF16_TRUE, 8", "BF16_MIXED, 0", "BF16_MIXED, 8"})
    void aForwardHoldsNothingBeyondWhatAutogradKeeps(Precision precision, int loraRank) throws Exception {
        assumeTrue(NativeOps.available() && NativeOps.hostAllocatedBytes() >= 0, "needs the native extension on glibc");
        ModelConfig cfg = wide();
        try (Decoder model = Decoder.randomInit(cfg, 1, Device.cpu(), Compute.fused(precision))) {
            if (loraRank > 0) {
                model.addLora(new LoraConfig(loraRank, 2 * loraRank, 0, List.of("all")), 2);
            }
            heldAndKept(model);   // the first forward fills oneDNN's caches
            long[] heldAndKept = heldAndKept(model);
            long beyond = heldAndKept[0] - heldAndKept[1];
            long hidden = 2L * TOKENS * cfg.hiddenSize();   // one bf16 (B, T, C) array
            System.out.printf("%s, LoRA rank %d: a forward holds %,d B at its end, autograd keeps %,d B%n", precision,
                    loraRank, heldAndKept[0], heldAndKept[1]);
            assertTrue(heldAndKept[1] > 8 * hidden * cfg.numLayers(), "the measure sees the activations: " + heldAndKept[1]);
            assertTrue(beyond < hidden / 2, precision + ", LoRA rank " + loraRank + ": the forward holds " + beyond
                    + " B beyond what autograd keeps (one layer's input alone is " + hidden + " B)");
        }
    }

    /**
     * An adapted projection returns what its base product returns: the 16-bit product type for SwiGLU's inputs (gate
     * and up), so SwiGLU keeps 16-bit arrays for backward as without adapters (an fp32 adapter output promoted them
     * under bf16-mixed: SwiGLU kept fp32 gate, silu(gate) and up), and the precision's product output elsewhere.
     */
    @ParameterizedTest
    @EnumSource(value = Precision.class, names = {"BF16_TRUE", "BF16_MIXED"})
    void anAdaptedProjectionReturnsItsBaseProductsType(Precision precision) throws Exception {
        assumeTrue(NativeOps.available(), "bf16 needs the native extension");
        try (Decoder model = Decoder.randomInit(wide(), 1, Device.cpu(), Compute.fused(precision));
             StepScope step = StepScope.open(model.manager())) {
            model.addLora(new LoraConfig(8, 16, 0, List.of("all")), 2);
            DataType residual = precision == Precision.BF16_TRUE ? DataType.BFLOAT16 : DataType.FLOAT32;
            NDArray x = DataTypes.cast(step.manager().randomNormal(new Shape(1, 4, model.config().hiddenSize())), residual);
            boolean was = Tensors.gradMode(true);
            try {
                List<Projection> layer0 = model.projections().subList(0, 7);   // q, k, v, o, gate, up, down
                assertEquals(DataType.BFLOAT16, DataTypes.of(layer0.get(4).applyInProductType(x, true)), "gate");
                assertEquals(DataType.BFLOAT16, DataTypes.of(layer0.get(5).applyInProductType(x, true)), "up");
                assertEquals(residual, DataTypes.of(layer0.get(0).apply(x, true)), "q");
            } finally {
                Tensors.gradMode(was);
            }
        }
    }

    @ParameterizedTest
    @EnumSource(value = Precision.class, names = {"BF16_TRUE", "BF16_MIXED"})
    void aLoraBaseIsReadStraightIntoBf16(Precision precision) throws Exception {
        assumeTrue(NativeOps.available(), "bf16 weights need the native extension");
        Path dir = Shared.fixtures("models/llama-bf16");
        try (Decoder model = Decoder.load(dir, Device.cpu(), Compute.fused(precision), true);
             CheckpointFiles files = CheckpointFiles.open(dir, "model")) {
            for (Parameter p : model.baseParameters()) {
                boolean matrix = p.name().endsWith("_proj.weight") || p.name().equals("lm_head.weight");
                DataType held = precision == Precision.BF16_TRUE || matrix ? DataType.BFLOAT16 : DataType.FLOAT32;
                assertEquals(held, DataTypes.of(p.array()), p.name());
                try (NDArray stored = TensorReader.read(files.fileOf(p.name()), p.name(), model.manager(), DataType.FLOAT32)) {
                    assertArrayEquals(Tensors.toFloats(stored), Tensors.toFloats(p.array()), p.name() + ": the stored bits");
                }
            }
        }
    }

    /**
     * Bytes a training forward leaves behind per decoder layer (its output excluded), measured on a second forward:
     * the first one fills the kernels' caches of their own (oneDNN primitives per shape), which are no activation.
     */
    private static long keptPerLayer(Decoder model) {
        keptOnce(model);
        return keptOnce(model);
    }

    /** One row of TOKENS token ids within the model's vocabulary. */
    private static long[][] tokens(Decoder model) {
        long[][] ids = new long[1][TOKENS];
        for (int t = 0; t < TOKENS; t++) {
            ids[0][t] = (t * 7L) % model.config().vocabSize();
        }
        return ids;
    }

    private static long keptOnce(Decoder model) {
        long[][] ids = tokens(model);
        boolean was = Tensors.gradMode(true);
        try (StepScope step = StepScope.open(model.manager())) {
            long before = NativeOps.hostAllocatedBytes();
            NDArray hidden;
            try (StepScope forward = StepScope.open(step.manager())) {
                hidden = forward.keep(model.forward(ModelInputs.of(ids), forward.manager(), null, true));
            }
            long kept = NativeOps.hostAllocatedBytes() - before - hidden.size() * DataTypes.bytes(DataTypes.of(hidden));
            return kept / model.config().numLayers();
        } finally {
            Tensors.gradMode(was);
        }
    }

    /**
     * Bytes a training forward (the second of two) has allocated at its end, before its own arrays are released, and
     * after: what autograd keeps for backward. Both count the returned hidden states.
     */
    private static long[] heldAndKept(Decoder model) {
        long[][] ids = tokens(model);
        boolean was = Tensors.gradMode(true);
        try (StepScope step = StepScope.open(model.manager())) {
            long before = NativeOps.hostAllocatedBytes();
            long held;
            try (StepScope forward = step.part()) {
                forward.keep(model.forward(ModelInputs.of(ids), forward.manager(), null, true));
                held = NativeOps.hostAllocatedBytes() - before;
            }
            return new long[] {held, NativeOps.hostAllocatedBytes() - before};
        } finally {
            Tensors.gradMode(was);
        }
    }

    /** The llama fixture at width 512 and 4 layers: activations large against the allocator's noise. */
    private static ModelConfig wide() throws Exception {
        ObjectNode n = (ObjectNode) new ObjectMapper().readTree(Shared.fixtures("models/llama/config.json").toFile());
        n.put("hidden_size", 512).put("intermediate_size", 1280).put("head_dim", 64).put("num_attention_heads", 8)
                .put("num_key_value_heads", 4).put("num_hidden_layers", 4);
        return ModelConfig.fromJson(n);
    }
}
