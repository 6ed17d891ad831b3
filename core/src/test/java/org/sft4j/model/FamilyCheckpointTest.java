package org.sft4j.model;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.sft4j.base.UserError;
import org.sft4j.model.io.NamedTensor;
import org.sft4j.model.io.SafetensorsFile;
import org.sft4j.model.io.SafetensorsWriter;
import org.sft4j.model.io.StDType;
import org.sft4j.model.lora.LoraConfig;
import org.sft4j.nd.StepScope;
import org.sft4j.nd.Tensors;
import org.sft4j.testing.Expected;
import org.sft4j.testing.Numerics;
import org.sft4j.testing.Shared;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Saving, reloading and LoRA of the families beyond Llama, and Gemma 3's language model inside a vision checkpoint. */
class FamilyCheckpointTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    private static float[] logits(Decoder model, Expected exp) throws IOException {
        long[][] ids = exp.longs("input_ids");
        try (StepScope step = StepScope.open(model.manager())) {
            return Tensors.toFloats(model.logits(model.forward(
                    new ModelInputs(ids, Expected.positions(ids), exp.ints("attention_mask"), null), step.manager(), null, false)));
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"qwen3", "gemma3", "phi3"})
    void saveThenReloadGivesIdenticalLogitsAndTheSameTensors(String name, @TempDir Path tmp) throws Exception {
        Path fixture = Shared.fixtures("models/" + name);
        try (Expected exp = new Expected(fixture.resolve("expected.safetensors"));
             Decoder model = Decoder.load(fixture, Device.cpu())) {
            Path out = tmp.resolve("saved");
            ModelFiles.saveModel(model, out, StDType.F32, fixture, ModelFiles.DEFAULT_SHARD_BYTES);
            try (SafetensorsFile ours = SafetensorsFile.open(out.resolve("model.safetensors"));
                 SafetensorsFile theirs = SafetensorsFile.open(fixture.resolve("model.safetensors"))) {
                assertEquals(theirs.tensors().keySet(), ours.tensors().keySet(), "transformers' tensor names, no more");
                for (String t : theirs.tensors().keySet()) {
                    assertEquals(theirs.readRaw(t), ours.readRaw(t), t);
                }
            }
            assertEquals(name.equals("gemma3") ? "gemma3_text" : name,
                    JSON.readTree(out.resolve("config.json").toFile()).path("model_type").asText());
            try (Decoder again = Decoder.load(out, Device.cpu())) {
                assertArrayEquals(logits(model, exp), logits(again, exp), "bit-identical after save and reload");
            }
        }
    }

    @Test
    void loraAllTargetsPhi3sFusedProjectionsAsPeftNamesThem(@TempDir Path tmp) throws Exception {
        Path fixture = Shared.fixtures("models/phi3");
        try (Expected exp = new Expected(fixture.resolve("expected.safetensors"));
             Decoder model = Decoder.load(fixture, Device.cpu())) {
            model.addLora(new LoraConfig(4, 8, 0, List.of("all")), 5);
            assertEquals(List.of("down_proj", "gate_up_proj", "o_proj", "qkv_proj"), model.loraConfig().targets());
            // one adapter per fused projection, B as wide as all of q, k and v (4·16 + 2·2·16 rows)
            Parameter qkvB = model.loraParameters().stream()
                    .filter(p -> p.name().equals("base_model.model.model.layers.0.self_attn.qkv_proj.lora_B.weight"))
                    .findFirst().orElseThrow();
            assertArrayEquals(new long[] {128, 4}, qkvB.array().getShape().getShape());
            assertEquals(16, model.loraParameters().size(), "4 projections x 2 layers x (A, B)");
            nonZeroB(model);
            float[] adapted = logits(model, exp);
            assertTrue(Numerics.relError(adapted, exp.floats("logits")) > 1e-3, "the adapters change the logits");

            Path adapter = tmp.resolve("adapter");
            ModelFiles.saveAdapter(model, adapter, "phi3");
            JsonNode cfg = JSON.readTree(adapter.resolve("adapter_config.json").toFile());
            assertEquals("[\"down_proj\",\"gate_up_proj\",\"o_proj\",\"qkv_proj\"]", cfg.get("target_modules").toString());
            try (Decoder other = Decoder.load(fixture, Device.cpu())) {
                ModelFiles.loadAdapter(other, adapter);
                assertArrayEquals(adapted, logits(other, exp), "the saved adapter reloads exactly");
            }
            model.mergeLora();
            double err = Numerics.relError(logits(model, exp), adapted);
            assertTrue(err < 1e-5, "merged into qkv_proj and gate_up_proj: logits rel. error " + err);
        }
    }

    @Test
    void aTargetTheFamilyDoesNotHaveIsRefusedWithItsOwnNames() throws Exception {
        try (Decoder model = Decoder.load(Shared.fixtures("models/phi3"), Device.cpu())) {
            UserError e = assertThrows(UserError.class,
                    () -> model.addLora(new LoraConfig(4, 8, 0, List.of("q_proj", "v_proj")), 1));
            assertEquals("lora_target 'q_proj' is not a projection of phi3 models; choose from "
                    + "[qkv_proj, o_proj, gate_up_proj, down_proj] or 'all'", e.getMessage());
            assertTrue(model.loraParameters().isEmpty());
        }
    }

    @Test
    void qwen3AndGemma3HaveTheirOwnNormsAndHeadWidth() throws Exception {
        ModelConfig qwen = ModelConfig.read(Shared.fixtures("models/qwen3"));
        assertEquals(24, qwen.headDim(), "head_dim 24, not hidden 64 / 4 heads");
        Layout q = Layout.of(qwen);
        assertArrayEquals(new long[] {24}, q.shapes().get("model.layers.1.self_attn.k_norm.weight"));
        assertArrayEquals(new long[] {96, 64}, q.shapes().get("model.layers.0.self_attn.q_proj.weight"));
        ModelConfig gemma = ModelConfig.read(Shared.fixtures("models/gemma3"));
        assertEquals(List.of(8, 0, 8), List.of(gemma.window(0), gemma.window(1), gemma.window(2)));
        assertEquals(10_000.0, gemma.rope(0).theta());
        assertEquals(1_000_000.0, gemma.rope(1).theta());
        assertEquals(Math.pow(24, -0.5), gemma.attentionScale(), 1e-15, "query_pre_attn_scalar, not head_dim");
        assertTrue(Layout.of(gemma).shapes().containsKey("model.layers.2.post_feedforward_layernorm.weight"));
        long params = 0;
        try (SafetensorsFile f = SafetensorsFile.open(Shared.fixtures("models/gemma3/model.safetensors"))) {
            for (var t : f.tensors().values()) {
                params += t.numel();
            }
        }
        assertEquals(params, gemma.parameterCount(), "the count transformers' file holds (tied head once)");
    }

    @Test
    void gemma3ConditionalGenerationCheckpointsLoadTheirLanguageModelAndSaveItTextOnly(@TempDir Path tmp) throws Exception {
        Path fixture = Shared.fixtures("models/gemma3");
        ObjectNode text = (ObjectNode) JSON.readTree(fixture.resolve("config.json").toFile());
        // as on the Hub: the outer config names the class, the text config what differs from Gemma3TextConfig's defaults
        for (String key : List.of("model_type", "architectures", "tie_word_embeddings", "bos_token_id", "eos_token_id")) {
            text.remove(key);
        }
        ObjectNode outer = JSON.createObjectNode();
        outer.put("model_type", "gemma3");
        outer.putArray("architectures").add("Gemma3ForConditionalGeneration");
        outer.set("text_config", text);
        outer.putObject("vision_config").put("model_type", "siglip_vision_model").put("hidden_size", 8);
        outer.put("eos_token_id", 1);
        for (String prefix : List.of("language_model.model.", "model.language_model.")) {
            Path dir = Files.createDirectories(tmp.resolve(prefix.replace('.', '_')));
            Files.writeString(dir.resolve("config.json"), outer.toPrettyString());
            List<NamedTensor> tensors = new ArrayList<>();
            try (SafetensorsFile f = SafetensorsFile.open(fixture.resolve("model.safetensors"))) {
                for (var e : f.tensors().entrySet()) {
                    java.nio.ByteBuffer raw = f.readRaw(e.getKey());
                    tensors.add(new NamedTensor(prefix + e.getKey().substring("model.".length()), e.getValue().dtype(),
                            e.getValue().shape(), raw::duplicate));
                }
            }
            java.nio.ByteBuffer vision = java.nio.ByteBuffer.allocate(4 * 8 * 8);
            tensors.add(new NamedTensor("vision_tower.vision_model.embeddings.patch_embedding.weight", StDType.F32,
                    new long[] {8, 8}, vision::duplicate));
            SafetensorsWriter.writeFile(dir.resolve("model.safetensors"), tensors, Map.of("format", "pt"));

            try (Expected exp = new Expected(fixture.resolve("expected.safetensors"));
                 Decoder model = Decoder.load(dir, Device.cpu())) {
                assertTrue(model.config().multimodal());
                assertTrue(model.config().tieWordEmbeddings(), "Gemma3TextConfig's default");
                double err = Numerics.relError(logits(model, exp), exp.floats("logits"));
                assertTrue(err < 1e-4, prefix + ": logits rel. error " + err);
                Path saved = tmp.resolve("saved-" + prefix.replace('.', '_'));
                ModelFiles.saveModel(model, saved, StDType.F32, null, ModelFiles.DEFAULT_SHARD_BYTES);
                JsonNode cfg = JSON.readTree(saved.resolve("config.json").toFile());
                assertEquals("gemma3_text", cfg.path("model_type").asText());
                assertEquals("[\"Gemma3ForCausalLM\"]", cfg.path("architectures").toString());
                assertEquals(1, cfg.path("eos_token_id").asInt(), "the outer config's token ids kept");
                try (SafetensorsFile f = SafetensorsFile.open(saved.resolve("model.safetensors"))) {
                    assertTrue(f.tensors().containsKey("model.layers.0.self_attn.q_norm.weight"));
                    assertFalse(f.tensors().keySet().stream().anyMatch(n -> n.contains("vision")), "text-only");
                }
                try (Decoder again = Decoder.load(saved, Device.cpu())) {
                    assertFalse(again.config().multimodal());
                    assertArrayEquals(logits(model, exp), logits(again, exp));
                }
            }
        }
    }

    private static void nonZeroB(Decoder model) {
        boolean was = Tensors.gradMode(false);
        try {
            for (Parameter p : model.loraParameters()) {
                if (p.name().contains("lora_B")) {
                    NDManager m = p.array().getManager();
                    Tensors.copyInto(p.array(), m.randomNormal(0, 0.05f, p.array().getShape(), DataType.FLOAT32));
                }
            }
        } finally {
            Tensors.gradMode(was);
        }
    }
}
