package org.sft4j.model;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
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
 * Phi-3's longrope scaling against transformers (fixtures/models/phi3-longrope, made by generate/make_phi3_longrope.py): short
 * factors while every position is under original_max_position_embeddings (16), long ones and the attention factor
 * for a pass that reaches past it, and a cached generation that crosses the switch.
 */
class LongRopeTest {

    private static Path fixture() throws Exception {
        return Shared.fixtures("models/phi3-longrope");
    }

    @Test
    void logitsUnderAndPastTheOriginalContextMatchTransformers() throws Exception {
        try (Expected exp = new Expected(fixture().resolve("expected.safetensors"));
             Decoder model = Decoder.load(fixture(), Device.cpu())) {
            RopeConfig rope = model.config().rope(0);
            assertEquals("longrope", rope.type());
            assertEquals(6, rope.rotaryDim(), "partial_rotary_factor 0.75 of head_dim 8");
            assertEquals(Math.sqrt(1 + Math.log(4) / Math.log(16)), rope.attentionFactor(), 1e-12,
                    "max_position_embeddings / original = 4: the LongRoPE paper's attention factor");
            for (String row : List.of("short", "long")) {
                long[][] ids = exp.longs(row + "_ids");
                try (StepScope step = StepScope.open(model.manager())) {
                    NDManager m = step.manager();
                    float[] logits = Tensors.toFloats(model.logits(model.forward(ModelInputs.of(ids), m, null, false)));
                    double err = Numerics.relError(logits, exp.floats(row + "_logits"));
                    assertTrue(err < 1e-4, row + " row (" + ids[0].length + " tokens) logits rel. error " + err);
                }
            }
        }
    }

    @Test
    void cachedGenerationAcrossTheSwitchRecomputesTheKeysWithTheLongFactors() throws Exception {
        JsonNode g = new ObjectMapper().readTree(fixture().resolve("generate.json").toFile());
        try (Decoder model = Decoder.load(fixture(), Device.cpu())) {
            assertTrue(model.ropeSwitchesAt(16) && !model.ropeSwitchesAt(15) && !model.ropeSwitchesAt(17));
            int[] got = new Generator(model).generate(List.of(GeneratorTest.ints(g.get("prompt"))),
                    GenerationOptions.greedy(16, new int[0], 0), null).get(0).tokens();
            assertArrayEquals(GeneratorTest.ints(g.get("greedy_16")), got, "5 prompt tokens + 16 cross position 16");
        }
    }
}
