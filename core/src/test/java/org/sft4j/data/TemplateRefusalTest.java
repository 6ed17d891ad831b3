package org.sft4j.data;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sft4j.config.SftConfig;
import org.sft4j.read.DataException;
import org.sft4j.testing.Shared;
import org.sft4j.tokenize.DropReason;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A row the chat template refuses (Mistral's raise_exception on roles that do not alternate) is never lost silently. */
class TemplateRefusalTest {

    private static final String ALTERNATE = "Conversation roles must alternate user/assistant/user/assistant/...";

    private static SftConfig job(Path tmp, String onError) throws Exception {
        Path f = Files.writeString(tmp.resolve("chat.jsonl"), String.join("\n",
                "{\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}, {\"role\": \"assistant\", \"content\": \"Hello\"}]}",
                "{\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}, {\"role\": \"user\", \"content\": \"again\"}, "
                        + "{\"role\": \"assistant\", \"content\": \"Hello\"}]}",
                "{\"messages\": [{\"role\": \"user\", \"content\": \"Yo\"}, {\"role\": \"assistant\", \"content\": \"Hey\"}]}", ""));
        return SftConfig.of(Map.of("model_name_or_path", Shared.tokenizer("mistral-7b-instruct-v0.2").toString(),
                "dataset", f.toString(), "tokenized_path", tmp.resolve("d-" + onError).toString(), "on_error", onError));
    }

    @Test
    void underFailTheRunStopsNamingFileLineAndTheTemplatesMessage(@TempDir Path tmp) throws Exception {
        DataException e = assertThrows(DataException.class, () -> DataPipeline.prepare(job(tmp, "fail"), DataPipelineTest.NO_HUB,
                null));
        assertTrue(e.getMessage().startsWith(tmp.resolve("chat.jsonl") + ":2: chat template"), e.getMessage());
        assertTrue(e.getMessage().contains("the template raised: " + ALTERNATE), e.getMessage());
        assertTrue(!Files.exists(tmp.resolve("d-fail/train.parquet")), "nothing that looks finished");
    }

    @Test
    void underSkipTheRowAndTheMessageAreKeptInTheReport(@TempDir Path tmp) throws Exception {
        DataPipeline.Prepared p = DataPipeline.prepare(job(tmp, "skip"), DataPipelineTest.NO_HUB, null);
        DataReport r = p.report();
        assertEquals(2, r.kept());
        assertEquals(1L, r.dropped.get(DropReason.TEMPLATE_ERROR));
        assertEquals(1, r.skippedRows.size(), r.skippedRows.toString());
        assertTrue(r.skippedRows.get(0).startsWith(tmp.resolve("chat.jsonl") + ":2: chat template"), r.skippedRows.get(0));
        assertTrue(r.skippedRows.get(0).endsWith(ALTERNATE), r.skippedRows.get(0));
        DataReport reused = DataPipeline.prepare(job(tmp, "skip"), DataPipelineTest.NO_HUB, null).report();
        assertEquals(r.skippedRows, reused.skippedRows, "report.json keeps them for a reused run");
    }
}
