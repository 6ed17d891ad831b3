package org.sft4j.train;

import ai.djl.Device;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.sft4j.model.Decoder;
import org.sft4j.model.ModelInputs;
import org.sft4j.nd.Compute;
import org.sft4j.nd.NativeOps;
import org.sft4j.nd.Precision;
import org.sft4j.nd.ProcessGroup;
import org.sft4j.nd.StepScope;
import org.sft4j.nd.Tensors;
import org.sft4j.testing.Expected;
import org.sft4j.testing.Shared;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Sharded bf16-mixed's working copy computes exactly as bf16-true does, in every family: a model loaded with fp32
 * masters, sharded with a bf16 working copy and computed through {@code computingWith}, gives the logits of the
 * same checkpoint loaded at bf16-true, bit for bit (RoPE tables, norms, Gemma's embedding scale, soft-capping).
 */
class ShardedWorkingCopyTest {

    @ParameterizedTest
    @ValueSource(strings = {"llama", "qwen2", "mistral", "llama3-rope", "qwen3", "gemma2", "gemma3", "phi3",
        "qwen3-sliding"})
    void theWorkingCopyComputesAsBf16True(String family) throws Exception {
        assumeTrue(NativeOps.available(), "bf16 needs the native extension");
        Path dir = Shared.fixtures("models/" + family);
        try (Expected exp = new Expected(dir.resolve("expected.safetensors"));
             Decoder reference = Decoder.load(dir, Device.cpu(), Precision.BF16_TRUE);
             Decoder masters = Decoder.load(dir, Device.cpu(), Precision.BF16_MIXED);
             Zero zero = Zero.shard(1, ProcessGroup.alone(), masters, false, 0, () -> false)) {
            Decoder working = masters.computingWith(Compute.forPrecision(Precision.BF16_TRUE));
            long[][] ids = exp.longs("input_ids");
            ModelInputs in = new ModelInputs(ids, Expected.positions(ids), exp.ints("attention_mask"), null);
            assertArrayEquals(logits(reference, in), logits(working, in), 0f, family);
        }
    }

    private static float[] logits(Decoder model, ModelInputs in) {
        try (StepScope step = StepScope.open(model.manager())) {
            return Tensors.toFloats(model.logits(model.forward(in, step.manager(), null, false)));
        }
    }
}
