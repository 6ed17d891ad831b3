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

/** initModel -> data -> train -> eval on a tiny SmolLM2-shaped model: every step reads what the previous one wrote. */
class SftFlowTest {

    @Test
    void tinyTranslationJobEndToEnd(@TempDir Path tmp) throws Exception {
        Path tok = Shared.tokenizer("smollm2-135m-instruct");
        Path model = Sft.initModel(tok.resolve("config.json"), Map.of("hidden_size", 32, "intermediate_size", 64,
                "num_hidden_layers", 1, "num_attention_heads", 2, "num_key_value_heads", 1), tok, tmp.resolve("model"), 1);
        assertTrue(Files.exists(model.resolve("tokenizer.json")), "tokenizer files travel with the model");
        Path mk = Shared.data("multi30k");
        Map<String, Object> kv = new HashMap<>();
        kv.put("model_name_or_path", model.toString());
        kv.put("template", "chatml");
        kv.put("dataset", mk.resolve("val.{en,de}.gz").toString());
        kv.put("test_dataset", mk.resolve("test_2016_flickr.{en,de}.gz").toString());
        kv.put("max_samples", 96);
        kv.put("val_size", 0.25);
        kv.put("cutoff_len", 96);
        kv.put("output_dir", tmp.resolve("run").toString());
        kv.put("per_device_train_batch_size", 8);
        kv.put("learning_rate", 3e-3);
        kv.put("max_steps", 6);
        kv.put("save_steps", 3);
        kv.put("validate_every_n_steps", 3);
        kv.put("eval_max_samples", 6);
        kv.put("max_new_tokens", 6);
        SftConfig cfg = SftConfig.of(kv);
        TrainResult r = Sft.train(cfg, List.of(), null);
        assertEquals(TrainResult.Status.COMPLETED, r.status());
        assertEquals(6, r.steps());
        assertTrue(r.lastValLoss() < r.firstValLoss(), "validation loss falls: " + r.firstValLoss() + " -> " + r.lastValLoss());
        assertTrue(Files.exists(tmp.resolve("run/run.json")));
        Evaluator.Result e = Sft.eval(cfg, null);
        assertEquals(List.of("base", "checkpoint-3", "checkpoint-6"), e.cards().stream().map(Scorecard::name).toList());
        for (Scorecard c : e.cards()) {
            assertEquals(6, c.examples());
            assertTrue(c.bleu() >= 0 && c.bleu() <= 100 && Double.isFinite(c.valLoss()), c.toString());
            assertEquals(6, Files.readAllLines(c.predictions()).size());
        }
        assertTrue(e.cards().get(2).valLoss() < e.cards().get(0).valLoss(), "the trained checkpoint beats the base");
        JsonNode scores = new ObjectMapper().readTree(tmp.resolve("run/eval/scores.json").toFile());
        assertEquals(3, scores.size());
        JsonNode first = new ObjectMapper().readTree(Files.readAllLines(e.cards().get(0).predictions()).get(0));
        assertTrue(first.get("source").asText().length() > 0 && first.get("reference").asText().length() > 0, first.toString());
    }
}
