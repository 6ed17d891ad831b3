package org.sft4j.model;

import ai.djl.Device;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.sft4j.testing.Shared;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class GeneratorTest {

    @ParameterizedTest
    @ValueSource(strings = {"llama", "qwen2", "mistral", "llama3-rope", "qwen3", "gemma3", "phi3"})
    void greedyTwelveTokensEqualTransformersWithTheCache(String name) throws Exception {
        greedyTwelve(Shared.fixtures("models/" + name), name);
    }

    @Test
    void gemma2GreedyWithSoftCapsAndItsWindow() throws Exception {
        greedyTwelve(Shared.fixtures("models/gemma2"), "gemma2");
    }

    static void greedyTwelve(Path dir, String name) throws Exception {
        JsonNode g = new ObjectMapper().readTree(dir.resolve("generate.json").toFile());
        int[] prompt = ints(g.get("prompt"));
        int[] expected = ints(g.get("greedy_12"));
        try (Decoder model = Decoder.load(dir, Device.cpu())) {
            Generator gen = new Generator(model);
            GenerationOptions opt = GenerationOptions.greedy(12, new int[0], 0);
            int[] cached = gen.generate(List.of(prompt), opt, null).get(0).tokens();
            assertArrayEquals(expected, cached, name + " greedy continuation with KV cache");
            int[] uncached = gen.generate(List.of(prompt), opt.withCache(false), null).get(0).tokens();
            assertArrayEquals(expected, uncached, name + " greedy continuation without cache");
        }
    }

    @Test
    void leftPaddedBatchRowsEqualTheirSingleRuns() throws Exception {
        try (Decoder model = Decoder.load(Shared.fixtures("models/llama"), Device.cpu())) {
            Generator gen = new Generator(model);
            GenerationOptions opt = GenerationOptions.greedy(10, new int[0], 0);
            int[] a = {303, 211, 294, 53, 204, 372, 152, 505};
            int[] b = {17, 99, 4};
            List<Generator.Output> batch = gen.generate(List.of(a, b), opt, null);
            assertArrayEquals(gen.generate(List.of(a), opt, null).get(0).tokens(), batch.get(0).tokens());
            assertArrayEquals(gen.generate(List.of(b), opt, null).get(0).tokens(), batch.get(1).tokens());
        }
    }

    @Test
    void stopTokenEndsTheRowAndIsReturned() throws Exception {
        try (Decoder model = Decoder.load(Shared.fixtures("models/llama"), Device.cpu())) {
            Generator gen = new Generator(model);
            int[] prompt = {303, 211, 294, 53, 204, 372, 152, 505};
            // the fixture's greedy continuation starts 300, 262, 367: stopping on 262 keeps two tokens
            Generator.Output out = gen.generate(List.of(prompt), GenerationOptions.greedy(12, new int[] {262}, 0), null)
                    .get(0);
            assertArrayEquals(new int[] {300, 262}, out.tokens());
            assertTrue(out.stopped());
        }
    }

    @Test
    void seededSamplingRepeatsAndDiffersFromGreedy() throws Exception {
        try (Decoder model = Decoder.load(Shared.fixtures("models/llama"), Device.cpu())) {
            Generator gen = new Generator(model);
            int[] prompt = {303, 211, 294, 53};
            GenerationOptions s1 = new GenerationOptions(16, false, 1.5, 0.95, 7, new int[0], 0, true);
            int[] x = gen.generate(List.of(prompt), s1, null).get(0).tokens();
            int[] y = gen.generate(List.of(prompt), s1, null).get(0).tokens();
            assertArrayEquals(x, y, "same seed, same tokens");
            int[] greedy = gen.generate(List.of(prompt), GenerationOptions.greedy(16, new int[0], 0), null).get(0).tokens();
            assertNotEquals(java.util.Arrays.toString(greedy), java.util.Arrays.toString(x));
            assertEquals(16, x.length);
        }
    }

    @Test
    void badOptionsAreRejected() {
        assertThrows(IllegalArgumentException.class, () -> new GenerationOptions(4, false, 0, 0.9, 1, new int[0], 0, true));
        assertThrows(IllegalArgumentException.class, () -> new GenerationOptions(-1, true, 1, 1, 1, new int[0], 0, true));
    }

    static int[] ints(JsonNode n) {
        int[] r = new int[n.size()];
        for (int i = 0; i < r.length; i++) {
            r[i] = n.get(i).asInt();
        }
        return r;
    }
}
