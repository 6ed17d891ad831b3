package org.sft4j.model;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sft4j.model.io.SafetensorsFile;
import org.sft4j.model.io.StDType;
import org.sft4j.nd.Tensors;
import org.sft4j.testing.Shared;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Saved models are sharded as transformers shards them; random init is seeded and on the device. */
class ShardedSaveTest {

    /**
     * What transformers 5.18 wrote for {@code AutoModelForCausalLM.from_pretrained(fixtures/models/llama)
     * .save_pretrained(out, max_shard_size="40KB")}: shard file -> tensors (index metadata: total_parameters 151872,
     * total_size 607488).
     */
    private static final Map<String, List<String>> TRANSFORMERS_40KB = new LinkedHashMap<>();

    static {
        TRANSFORMERS_40KB.put("model-00001-of-00012.safetensors", List.of("lm_head.weight"));
        TRANSFORMERS_40KB.put("model-00002-of-00012.safetensors", List.of("model.embed_tokens.weight"));
        TRANSFORMERS_40KB.put("model-00003-of-00012.safetensors", List.of("model.layers.0.mlp.down_proj.weight"));
        TRANSFORMERS_40KB.put("model-00004-of-00012.safetensors", List.of("model.layers.0.mlp.gate_proj.weight"));
        TRANSFORMERS_40KB.put("model-00005-of-00012.safetensors", List.of("model.layers.0.mlp.up_proj.weight"));
        TRANSFORMERS_40KB.put("model-00006-of-00012.safetensors", List.of("model.layers.0.input_layernorm.weight",
                "model.layers.0.post_attention_layernorm.weight", "model.layers.0.self_attn.k_proj.weight",
                "model.layers.0.self_attn.o_proj.weight"));
        TRANSFORMERS_40KB.put("model-00007-of-00012.safetensors", List.of("model.layers.1.mlp.down_proj.weight"));
        TRANSFORMERS_40KB.put("model-00008-of-00012.safetensors", List.of("model.layers.1.mlp.gate_proj.weight"));
        TRANSFORMERS_40KB.put("model-00009-of-00012.safetensors", List.of("model.layers.1.mlp.up_proj.weight"));
        TRANSFORMERS_40KB.put("model-00010-of-00012.safetensors", List.of("model.layers.0.self_attn.q_proj.weight",
                "model.layers.0.self_attn.v_proj.weight", "model.layers.1.input_layernorm.weight",
                "model.layers.1.post_attention_layernorm.weight", "model.layers.1.self_attn.k_proj.weight"));
        TRANSFORMERS_40KB.put("model-00011-of-00012.safetensors", List.of("model.layers.1.self_attn.o_proj.weight",
                "model.layers.1.self_attn.q_proj.weight"));
        TRANSFORMERS_40KB.put("model-00012-of-00012.safetensors", List.of("model.layers.1.self_attn.v_proj.weight",
                "model.norm.weight"));
    }

    @Test
    void shardsAndIndexAreTransformersOwn(@TempDir Path tmp) throws IOException {
        Path fixture = Shared.fixtures("models/llama");
        Path out = tmp.resolve("saved");
        try (Decoder model = Decoder.load(fixture, Device.cpu())) {
            ModelFiles.saveModel(model, out, StDType.F32, fixture, 40_000);   // max_shard_size="40KB"
        }
        Map<String, List<String>> shards = new TreeMap<>();
        try (Stream<Path> files = Files.list(out)) {
            for (Path f : files.filter(p -> p.toString().endsWith(".safetensors")).toList()) {
                try (SafetensorsFile sf = SafetensorsFile.open(f)) {
                    List<String> names = new ArrayList<>(sf.tensors().keySet());
                    names.sort(String::compareTo);
                    shards.put(f.getFileName().toString(), names);
                    assertEquals("pt", sf.metadata().get("format"));
                }
            }
        }
        assertEquals(TRANSFORMERS_40KB, shards);
        JsonNode index = new ObjectMapper().readTree(out.resolve("model.safetensors.index.json").toFile());
        assertEquals(607_488, index.path("metadata").path("total_size").asLong());
        assertEquals(151_872, index.path("metadata").path("total_parameters").asLong());
        Map<String, String> weightMap = new TreeMap<>();
        index.path("weight_map").fields().forEachRemaining(e -> weightMap.put(e.getKey(), e.getValue().asText()));
        Map<String, String> expected = new TreeMap<>();
        TRANSFORMERS_40KB.forEach((file, names) -> names.forEach(n -> expected.put(n, file)));
        assertEquals(expected, weightMap);
        try (Stream<Path> files = Files.list(tmp)) {
            assertEquals(List.of(out), files.toList(), "no temporary files or directories left");
        }
    }

    @Test
    void bf16ShardsReloadAsTheirFp32Rounding(@TempDir Path tmp) throws IOException {
        Path fixture = Shared.fixtures("models/qwen2");
        Path out = tmp.resolve("bf16");
        try (Decoder model = Decoder.load(fixture, Device.cpu())) {
            ModelFiles.saveModel(model, out, StDType.BF16, fixture, 30_000);
            try (Decoder again = Decoder.load(out, Device.cpu())) {
                assertTrue(Files.exists(out.resolve("model.safetensors.index.json")));
                for (int i = 0; i < model.baseParameters().size(); i++) {
                    float[] a = Tensors.toFloats(model.baseParameters().get(i).array());
                    float[] b = Tensors.toFloats(again.baseParameters().get(i).array());
                    for (int j = 0; j < a.length; j++) {
                        float rounded = org.sft4j.model.io.HalfFloats.bf16ToFloat(org.sft4j.model.io.HalfFloats.floatToBf16(a[j]));
                        assertEquals(rounded, b[j], model.baseParameters().get(i).name() + "[" + j + "]");
                    }
                }
            }
        }
    }

    private static ModelConfig smallConfig() throws IOException {
        ObjectNode raw = (ObjectNode) new ObjectMapper().readTree(Shared.fixtures("models/qwen2/config.json").toFile());
        raw.put("initializer_range", 0.05);
        return ModelConfig.fromJson(raw);
    }

    @Test
    void randomInitIsSeededAndDistributedAsTransformers() throws IOException {
        ModelConfig cfg = smallConfig();
        try (Decoder a = Decoder.randomInit(cfg, 7, Device.cpu());
             Decoder b = Decoder.randomInit(cfg, 7, Device.cpu());
             Decoder c = Decoder.randomInit(cfg, 8, Device.cpu())) {
            for (int i = 0; i < a.baseParameters().size(); i++) {
                Parameter p = a.baseParameters().get(i);
                assertEquals(DataType.FLOAT32, p.array().getDataType());
                float[] va = Tensors.toFloats(p.array());
                assertArrayEquals(va, Tensors.toFloats(b.baseParameters().get(i).array()), p.name() + ": same seed");
                if (p.name().endsWith("norm.weight")) {
                    for (float v : va) {
                        assertEquals(1f, v, p.name());
                    }
                } else if (p.name().endsWith(".bias")) {
                    for (float v : va) {
                        assertEquals(0f, v, p.name());
                    }
                } else {
                    assertFalse(java.util.Arrays.equals(va, Tensors.toFloats(c.baseParameters().get(i).array())),
                            p.name() + ": another seed, other values");
                }
            }
            // normal(0, initializer_range): the embedding's mean and std
            float[] e = Tensors.toFloats(a.baseParameters().get(0).array());
            double sum = 0;
            double sq = 0;
            for (float v : e) {
                sum += v;
                sq += (double) v * v;
            }
            double mean = sum / e.length;
            double std = Math.sqrt(sq / e.length - mean * mean);
            assertEquals(0, mean, 4 * 0.05 / Math.sqrt(e.length), "mean");
            assertEquals(0.05, std, 0.05 * 0.03, "std");
            assertNotEquals(0f, e[0]);
        }
    }
}
