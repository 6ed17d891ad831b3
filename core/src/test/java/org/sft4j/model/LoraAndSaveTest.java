package org.sft4j.model;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sft4j.model.io.SafetensorsFile;
import org.sft4j.model.io.StDType;
import org.sft4j.model.lora.LoraConfig;
import org.sft4j.nd.Tensors;
import org.sft4j.testing.Expected;
import org.sft4j.testing.Numerics;
import org.sft4j.testing.Shared;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LoraAndSaveTest {

    private static float[] logits(Decoder model, Expected exp) throws IOException {
        long[][] ids = exp.longs("input_ids");
        int[][] mask = exp.ints("attention_mask");
        try (NDScope s = new NDScope(); NDManager step = model.manager().newSubManager()) {
            return Tensors.toFloats(model.logits(model.forward(
                    new ModelInputs(ids, Expected.positions(ids), mask, null), step, null, false)));
        }
    }

    @Test
    void peftAdapterGivesExpectedLogitsAndMergingKeepsThem() throws Exception {
        try (Expected base = new Expected(Shared.fixtures("models/llama/expected.safetensors"));
             Expected lora = new Expected(Shared.fixtures("models/llama-lora/expected.safetensors"));
             Decoder model = Decoder.load(Shared.fixtures("models/llama"), Device.cpu())) {
            ModelFiles.loadAdapter(model, Shared.fixtures("models/llama-lora"));
            assertEquals(4, model.loraConfig().rank());
            assertEquals(12, model.loraParameters().size(), "q, v, down in 2 layers, A and B each");
            assertTrue(model.trainableParameters().stream().allMatch(p -> p.name().contains("lora_")),
                    "base frozen under LoRA");
            double err = Numerics.relError(logits(model, base), lora.floats("logits"));
            assertTrue(err < 1e-4, "base+adapter logits rel. error " + err);

            model.mergeLora();
            assertTrue(model.loraParameters().isEmpty());
            double merged = Numerics.relError(logits(model, base), lora.floats("logits"));
            assertTrue(merged < 1e-4, "merged logits rel. error " + merged);
        }
    }

    @Test
    void saveThenReloadGivesIdenticalLogits(@TempDir Path tmp) throws Exception {
        try (Expected exp = new Expected(Shared.fixtures("models/qwen2/expected.safetensors"));
             Decoder model = Decoder.load(Shared.fixtures("models/qwen2"), Device.cpu())) {
            Path out = tmp.resolve("saved");
            // a tiny shard limit forces the sharded layout with an index
            ModelFiles.saveModel(model, out, StDType.F32, Shared.fixtures("models/qwen2"), 40_000);
            assertTrue(Files.exists(out.resolve("model.safetensors.index.json")));
            assertTrue(Files.exists(out.resolve("config.json")));
            assertTrue(Files.exists(out.resolve("generation_config.json")));
            try (Decoder again = Decoder.load(out, Device.cpu())) {
                assertArrayEquals(logits(model, exp), logits(again, exp), "bit-identical after save and reload");
            }
            try (var files = Files.list(tmp)) {
                assertEquals(List.of(out), files.toList(), "no temporary files left beside the result");
            }
        }
    }

    @Test
    void bf16SaveRoundsToNearestAndRecordsDtype(@TempDir Path tmp) throws Exception {
        try (Decoder model = Decoder.load(Shared.fixtures("models/llama"), Device.cpu())) {
            Path out = tmp.resolve("bf16");
            ModelFiles.saveModel(model, out, StDType.BF16, null, ModelFiles.DEFAULT_SHARD_BYTES);
            try (SafetensorsFile f = SafetensorsFile.open(out.resolve("model.safetensors"))) {
                assertEquals(StDType.BF16, f.info("model.embed_tokens.weight").dtype());
                assertEquals("pt", f.metadata().get("format"));
            }
            assertTrue(Files.readString(out.resolve("config.json")).contains("bfloat16"));
            // the shipped bf16 fixture was made by torch from the same fp32 weights: same bytes
            try (SafetensorsFile ours = SafetensorsFile.open(out.resolve("model.safetensors"));
                 SafetensorsFile torch = SafetensorsFile.open(Shared.fixtures("models/llama-bf16/model.safetensors"))) {
                for (String name : torch.tensors().keySet()) {
                    assertEquals(torch.readRaw(name), ours.readRaw(name), name + " bf16 bytes equal torch's");
                }
            }
        }
    }

    @Test
    void adapterRoundTripAndMissingTensorIsNamed(@TempDir Path tmp) throws Exception {
        try (Decoder model = Decoder.load(Shared.fixtures("models/llama"), Device.cpu())) {
            model.addLora(new LoraConfig(2, 4, 0.0, List.of("q_proj", "o_proj")), 3);
            assertEquals(8, model.loraParameters().size());
            Path out = tmp.resolve("adapter");
            ModelFiles.saveAdapter(model, out, "../llama");
            assertTrue(Files.exists(out.resolve("adapter_config.json")));
            try (Decoder other = Decoder.load(Shared.fixtures("models/llama"), Device.cpu())) {
                ModelFiles.loadAdapter(other, out);
                assertEquals(model.loraConfig(), other.loraConfig());
            }
            // an adapter that claims a target it has no tensors for
            String cfg = Files.readString(out.resolve("adapter_config.json")).replace("\"o_proj\"", "\"o_proj\", \"up_proj\"");
            Files.writeString(out.resolve("adapter_config.json"), cfg);
            try (Decoder other = Decoder.load(Shared.fixtures("models/llama"), Device.cpu())) {
                IOException e = assertThrows(IOException.class, () -> ModelFiles.loadAdapter(other, out));
                assertTrue(e.getMessage().contains("model.layers.0.mlp.up_proj.lora_A.weight"), e.getMessage());
                assertFalse(other.loraConfig() != null, "a failed load leaves no half-installed adapter");
            }
        }
    }
}
