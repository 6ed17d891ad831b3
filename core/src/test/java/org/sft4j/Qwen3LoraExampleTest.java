package org.sft4j;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sft4j.config.SftConfig;
import org.sft4j.eval.Evaluator;
import org.sft4j.eval.Scorecard;
import org.sft4j.testing.Shared;
import org.sft4j.train.TrainResult;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The README's Qwen3 example, CPU-sized: a Qwen3-shaped model (q/k norms, head_dim apart from hidden / heads) with
 * Qwen3's real tokenizer and chat template, LoRA on every projection over Alpaca, then evaluated with the same
 * template; the adapter is what a checkpoint holds.
 */
class Qwen3LoraExampleTest {

    @Test
    void aQwen3ShapedModelFineTunesWithLoraAndIsEvaluated(@TempDir Path tmp) throws Exception {
        Path tok = Shared.tokenizer("qwen3-hybrid");
        Path model = Sft.initModel(Shared.fixtures("models/qwen3/config.json"), Map.of("vocab_size", 151_936,
                "num_hidden_layers", 1), tok, tmp.resolve("qwen3-tiny"), 1);
        Map<String, Object> kv = new HashMap<>();
        kv.put("model_name_or_path", model.toString());
        kv.put("dataset", Shared.data("alpaca").resolve("alpaca_5000.json").toString());
        kv.put("max_samples", 40);
        kv.put("val_size", 8);
        kv.put("cutoff_len", 96);
        kv.put("finetuning_type", "lora");
        kv.put("lora_rank", 8);
        kv.put("lora_target", "all");
        kv.put("learning_rate", 5e-3);
        kv.put("per_device_train_batch_size", 8);
        kv.put("max_steps", 4);
        kv.put("save_steps", 4);
        kv.put("validate_every_n_steps", 4);
        kv.put("output_dir", tmp.resolve("run").toString());
        kv.put("test_dataset", Shared.data("alpaca").resolve("alpaca_5000.json").toString());
        kv.put("eval_max_samples", 2);
        kv.put("max_new_tokens", 4);
        SftConfig cfg = SftConfig.of(kv);
        TrainResult r = Sft.train(cfg, List.of(), null);
        assertEquals(TrainResult.Status.COMPLETED, r.status());
        assertTrue(r.lastValLoss() < r.firstValLoss(), "validation loss falls: " + r.firstValLoss() + " -> " + r.lastValLoss());
        JsonNode adapter = new ObjectMapper().readTree(tmp.resolve("run/checkpoint-4/adapter_config.json").toFile());
        assertEquals("[\"down_proj\",\"gate_proj\",\"k_proj\",\"o_proj\",\"q_proj\",\"up_proj\",\"v_proj\"]",
                adapter.get("target_modules").toString());
        Evaluator.Result e = Sft.eval(cfg, null);
        assertEquals(List.of("base", "checkpoint-4"), e.cards().stream().map(Scorecard::name).toList());
        for (Scorecard c : e.cards()) {
            assertEquals(2, c.examples());
            assertTrue(c.bleu() >= 0 && Double.isFinite(c.valLoss()), c.toString());
        }
        assertTrue(e.cards().get(1).valLoss() < e.cards().get(0).valLoss(), "the adapter lowers the loss: " + e.cards());
        String prompt = Files.readAllLines(e.cards().get(1).predictions()).get(0);
        assertTrue(prompt.contains("\"checkpoint\":\"checkpoint-4\""), prompt);
    }
}
