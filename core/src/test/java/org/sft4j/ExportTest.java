package org.sft4j;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sft4j.config.SftConfig;
import org.sft4j.data.DataPipeline;
import org.sft4j.export.LlamaFactoryExport;
import org.sft4j.hub.HubClient;
import org.sft4j.testing.Shared;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ExportTest {

    static final HubClient NO_HUB = new HubClient("http://127.0.0.1:9", null, Path.of("target/no-hub"), true);

    @Test
    void llamaFactoryExportReproducesTheJobAndReadsBack(@TempDir Path tmp) throws Exception {
        SftConfig cfg = SftConfig.of(Map.of("model_name_or_path", Shared.tokenizer("smollm2-135m-instruct").toString(),
                "template", "chatml", "dataset", Shared.data("multi30k").resolve("val.{en,de}.gz").toString(), "max_samples", 50,
                "finetuning_type", "lora", "lora_rank", 16, "cutoff_len", 128, "learning_rate", 2e-4, "max_steps", 30,
                "output_dir", tmp.resolve("run").toString()));
        Path out = tmp.resolve("lf");
        assertEquals(50, LlamaFactoryExport.write(cfg, out, NO_HUB));
        JsonNode info = new ObjectMapper().readTree(out.resolve("dataset_info.json").toFile()).get("sft4j_export");
        assertEquals("sharegpt", info.get("formatting").asText());
        JsonNode first = new ObjectMapper().readTree(Files.readAllLines(out.resolve("sft4j_export.jsonl")).get(0));
        assertTrue(first.at("/messages/0/content").asText().startsWith("Translate the following text from English to German."));
        JsonNode y = new ObjectMapper(new YAMLFactory()).readTree(out.resolve("train.yaml").toFile());
        assertEquals("lora", y.get("finetuning_type").asText());
        assertEquals(16, y.get("lora_rank").asInt());
        assertEquals("chatml", y.get("template").asText());
        assertEquals(30, y.get("max_steps").asInt());
        assertTrue(y.get("disable_gradient_checkpointing").asBoolean(), "sft4j's default (no checkpointing) said to LLaMA-Factory");
        assertEquals(out.toAbsolutePath().resolve("ds_z3_config.json").toString(), y.get("deepspeed").asText());
        assertEquals(3, new ObjectMapper().readTree(out.resolve("ds_z3_config.json").toFile()).at("/zero_optimization/stage").asInt());
        // the exported files are a dataset_info.json dataset that sft4j itself reads, to the same texts
        SftConfig back = SftConfig.of(Map.of("model_name_or_path", Shared.tokenizer("smollm2-135m-instruct").toString(),
                "template", "chatml", "dataset", "sft4j_export", "dataset_dir", out.toString(), "tokenized_path", tmp.resolve("d").toString()));
        DataPipeline.Prepared p = DataPipeline.prepare(back, NO_HUB, null);
        assertEquals(50, p.report().kept());
        SftConfig orig = cfg.with("tokenized_path", tmp.resolve("o").toString());
        assertEquals(DataPipeline.prepare(orig, NO_HUB, null).preview().get(0).text(), p.preview().get(0).text());
    }

    @Test
    void reasoningGoesInlineAsTheThinkBlockAndEnableThinkingIsWritten(@TempDir Path tmp) throws Exception {
        Path data = tmp.resolve("chat.jsonl");
        Files.writeString(data, """
                {"messages": [{"role": "user", "content": "2+2?"}, {"role": "assistant", "content": "4", "reasoning_content": "Two plus two.\\nThat is four.\\n"}]}
                {"messages": [{"role": "user", "content": "Name a colour."}, {"role": "assistant", "content": "Blue."}]}
                """);
        SftConfig cfg = SftConfig.of(Map.of("model_name_or_path", Shared.tokenizer("qwen3-hybrid").toString(),
                "dataset", data.toString(), "enable_thinking", "auto", "tokenized_path", tmp.resolve("o").toString()));
        Path out = tmp.resolve("lf");
        assertEquals(2, LlamaFactoryExport.write(cfg, out, NO_HUB));
        java.util.List<String> rows = Files.readAllLines(out.resolve("sft4j_export.jsonl"));
        assertEquals("<think>\nTwo plus two.\nThat is four.\n</think>\n\n4",
                new ObjectMapper().readTree(rows.get(0)).at("/messages/1/content").asText());
        assertEquals("Blue.", new ObjectMapper().readTree(rows.get(1)).at("/messages/1/content").asText());
        JsonNode y = new ObjectMapper(new YAMLFactory()).readTree(out.resolve("train.yaml").toFile());
        assertTrue(y.has("enable_thinking") && y.get("enable_thinking").isNull(), "auto is LLaMA-Factory's None");
        LlamaFactoryExport.write(cfg.with("enable_thinking", "false"), tmp.resolve("lf2"), NO_HUB);
        assertEquals(false, new ObjectMapper(new YAMLFactory()).readTree(tmp.resolve("lf2/train.yaml").toFile())
                .get("enable_thinking").asBoolean(true));
        // Qwen3's template renders the exported inline block exactly as it rendered reasoning_content
        SftConfig back = cfg.with("dataset", "sft4j_export").with("dataset_dir", out.toString())
                .with("tokenized_path", tmp.resolve("d").toString());
        DataPipeline.Prepared exported = DataPipeline.prepare(back, NO_HUB, null);
        DataPipeline.Prepared original = DataPipeline.prepare(cfg, NO_HUB, null);
        for (int i = 0; i < 2; i++) {
            assertEquals(original.preview().get(i).text(), exported.preview().get(i).text());
            assertEquals(java.util.Arrays.toString(original.preview().get(i).labels()),
                    java.util.Arrays.toString(exported.preview().get(i).labels()), "the same tokens supervised");
        }
        assertTrue(original.preview().get(0).text().contains("<think>\nTwo plus two.\nThat is four.\n</think>\n\n4"));
    }
}
