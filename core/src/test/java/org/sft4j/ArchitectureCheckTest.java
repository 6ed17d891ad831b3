package org.sft4j;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sft4j.base.UserError;
import org.sft4j.config.SftConfig;
import org.sft4j.testing.Shared;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The model's config.json is read before any data work: an architecture sft4j does not implement, a LoRA target its
 * family lacks, or (training) more checkpointed layers than it has, is the first thing a data, train or eval step
 * says (here the dataset does not even exist, and output_dir is never created).
 */
class ArchitectureCheckTest {

    private static SftConfig job(Path model, Path tmp, String loraTarget) {
        Map<String, Object> kv = new HashMap<>();
        kv.put("model_name_or_path", model.toString());
        kv.put("template", "chatml");
        kv.put("dataset", tmp.resolve("no-such-data.jsonl").toString());
        kv.put("test_dataset", tmp.resolve("no-such-test.jsonl").toString());
        kv.put("output_dir", tmp.resolve("run").toString());
        if (loraTarget != null) {
            kv.put("finetuning_type", "lora");
            kv.put("lora_target", loraTarget);
        }
        return SftConfig.of(kv);
    }

    private static Path gpt2(Path tmp) throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("gpt2"));
        Files.writeString(dir.resolve("config.json"), Files.readString(Shared.fixtures("models/llama/config.json"))
                .replace("\"llama\"", "\"gpt2\"").replace("LlamaForCausalLM", "GPT2LMHeadModel"));
        return dir;
    }

    @Test
    void anUnsupportedArchitectureFailsBeforeTheDataAndListsTheSupportedOnes(@TempDir Path tmp) throws IOException {
        SftConfig cfg = job(gpt2(tmp), tmp, null);
        List<Executable> steps = List.of(() -> Sft.data(cfg, null), () -> Sft.train(cfg, List.of(), null),
                () -> Sft.eval(cfg, null));
        for (Executable step : steps) {
            Exception e = assertThrows(Exception.class, step::run);
            String m = e.getMessage();
            assertTrue(m.contains("config.json") && m.contains("unsupported architecture: model_type 'gpt2'")
                    && m.contains("[\"GPT2LMHeadModel\"]"), m);
            for (String family : List.of("llama (LlamaForCausalLM)", "qwen2", "mistral", "qwen3 (Qwen3ForCausalLM)",
                    "gemma3_text (Gemma3ForCausalLM)", "phi3 (Phi3ForCausalLM)")) {
                assertTrue(m.contains(family), family + " missing from: " + m);
            }
            assertFalse(Files.exists(tmp.resolve("run")), "output_dir is neither claimed nor written");
        }
    }

    @Test
    void aLoraTargetTheFamilyLacksFailsBeforeTheData(@TempDir Path tmp) {
        SftConfig cfg = job(Shared.fixtures("models/phi3"), tmp, "q_proj,v_proj");
        UserError e = assertThrows(UserError.class, () -> Sft.train(cfg, List.of(), null));
        assertTrue(e.getMessage().contains("lora_target 'q_proj' is not a projection of phi3 models; choose from "
                + "[qkv_proj, o_proj, gate_up_proj, down_proj] or 'all'"), e.getMessage());
        assertFalse(Files.exists(tmp.resolve("run")));
    }

    @Test
    void moreCheckpointedLayersThanTheModelHasFailBeforeTheData(@TempDir Path tmp) {
        Map<String, Object> kv = new HashMap<>(Map.of("model_name_or_path", Shared.fixtures("models/llama").toString(),
                "template", "chatml", "dataset", tmp.resolve("no-such-data.jsonl").toString(),
                "output_dir", tmp.resolve("run").toString(), "gradient_checkpointing", true,
                "gradient_checkpointing_layers", 5));
        UserError e = assertThrows(UserError.class, () -> Sft.train(SftConfig.of(kv), List.of(), null));
        assertTrue(e.getMessage().contains("gradient_checkpointing_layers: 5 but the model has 2 decoder layers"),
                e.getMessage());
        assertFalse(Files.exists(tmp.resolve("run")), "output_dir is neither claimed nor written");
    }

    private interface Executable {
        void run() throws Exception;
    }
}
