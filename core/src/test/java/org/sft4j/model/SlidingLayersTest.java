package org.sft4j.model;

import ai.djl.Device;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.sft4j.nd.StepScope;
import org.sft4j.nd.Tensors;
import org.sft4j.testing.Expected;
import org.sft4j.testing.Numerics;
import org.sft4j.testing.Shared;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Qwen's use_sliding_window against transformers (fixtures/models/qwen3-sliding, made by generate/make_qwen3_sliding.py): layers
 * from max_window_layers on attend within sliding_window (6 of 24 tokens), the others to everything, in the forward
 * pass and in a cached generation that runs past the window.
 */
class SlidingLayersTest {

    @Test
    void slidingLayersFromMaxWindowLayersOnMatchTransformers() throws Exception {
        Path dir = Shared.fixtures("models/qwen3-sliding");
        try (Expected exp = new Expected(dir.resolve("expected.safetensors"));
             Decoder model = Decoder.load(dir, Device.cpu())) {
            assertEquals(List.of(0, 6), List.of(model.config().window(0), model.config().window(1)));
            long[][] ids = exp.longs("input_ids");
            try (StepScope step = StepScope.open(model.manager())) {
                float[] logits = Tensors.toFloats(model.logits(model.forward(
                        new ModelInputs(ids, Expected.positions(ids), exp.ints("attention_mask"), null), step.manager(), null,
                        false)));
                double err = Numerics.relError(logits, exp.floats("logits"));
                assertTrue(err < 1e-4, "logits rel. error " + err);
            }
            JsonNode g = new ObjectMapper().readTree(dir.resolve("generate.json").toFile());
            int[] got = new Generator(model).generate(List.of(GeneratorTest.ints(g.get("prompt"))),
                    GenerationOptions.greedy(12, new int[0], 0), null).get(0).tokens();
            assertArrayEquals(GeneratorTest.ints(g.get("greedy_12")), got, "8 + 12 tokens through a window of 6");
        }
    }
}
