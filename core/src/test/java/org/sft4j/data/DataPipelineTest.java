package org.sft4j.data;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sft4j.config.SftConfig;
import org.sft4j.hub.HubClient;
import org.sft4j.read.DataException;
import org.sft4j.testing.FakeHub;
import org.sft4j.testing.Shared;
import org.sft4j.tokenize.DropReason;
import org.sft4j.tokenize.EncodedExample;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class DataPipelineTest {

    static final HubClient NO_HUB = new HubClient("http://127.0.0.1:9", null, Path.of("target/no-hub"), true);

    static SftConfig config(Path out, Map<String, Object> kv) {
        Map<String, Object> m = new HashMap<>(kv);
        m.putIfAbsent("model_name_or_path", Shared.tokenizer("smollm2-135m-instruct").toString());
        m.putIfAbsent("tokenized_path", out.toString());
        return SftConfig.of(m);
    }

    @Test
    void alpacaFiveThousandWithTheModelsTemplate(@TempDir Path tmp) throws Exception {
        SftConfig cfg = config(tmp.resolve("d"), Map.of("dataset", Shared.data("alpaca/alpaca_5000.json").toString(),
                "cutoff_len", 256, "val_size", 0.1));
        DataPipeline.Prepared p = DataPipeline.prepare(cfg, NO_HUB, null);
        DataReport r = p.report();
        assertEquals(5000, r.rowsRead);
        assertEquals(5000, r.examples);
        assertEquals(r.examples, r.kept() + r.droppedTotal(), "every example is kept or counted as dropped");
        assertTrue(r.dropped.getOrDefault(DropReason.OVERLONG, 0L) > 0, "some Alpaca answers exceed 256 tokens");
        assertTrue(r.val > 350 && r.val < 600, "about 10% held out: " + r.val);
        assertEquals("alpaca", r.formats);
        TokenizedSet train = TokenizedSet.read(p.train());
        assertEquals(r.train, train.size());
        for (EncodedExample e : train.examples()) {
            assertTrue(e.length() <= 256);
            assertTrue(e.supervised() > 0);
            assertEquals(2, e.labels()[e.length() - 2], "<|im_end|> closes every supervised answer");
        }
        assertEquals(0, r.turnsWithoutEndToken);
        assertEquals(DataPipeline.PREVIEW, p.preview().size());

        long before = Files.getLastModifiedTime(p.train()).toMillis();
        DataPipeline.Prepared again = DataPipeline.prepare(cfg, NO_HUB, null);
        assertTrue(again.reused(), "same inputs, same settings: the files are reused");
        assertEquals(before, Files.getLastModifiedTime(again.train()).toMillis());
        assertEquals(r.train, again.report().train);
        DataReport back = again.report();
        assertEquals(r.toString(), back.toString(), "the reused report.json gives back every count");
        assertEquals(r.dropped, back.dropped);
        assertEquals(r.lengths, back.lengths);
        assertEquals(r.skippedRows, back.skippedRows);
        assertEquals(List.of(r.formats, r.template, r.tokenizer, r.cutoffLen),
                List.of(back.formats, back.template, back.tokenizer, back.cutoffLen));
        DataPipeline.Prepared changed = DataPipeline.prepare(cfg.with("cutoff_len", 300), NO_HUB, null);
        assertFalse(changed.reused(), "a changed cutoff_len rebuilds");
        try (var files = Files.list(tmp.resolve("d"))) {
            assertTrue(files.noneMatch(f -> f.toString().endsWith(".tmp")), "no temporary file left behind");
        }
    }

    @Test
    void multi30kParallelFilesBecomeTranslationInstructionsBothWays(@TempDir Path tmp) throws Exception {
        String ds = Shared.data("multi30k").resolve("val.{en,de}.gz").toString();
        SftConfig cfg = config(tmp.resolve("d"), Map.of("dataset", ds, "template", "chatml", "max_samples", 100,
                "bidirectional", true));
        DataPipeline.Prepared p = DataPipeline.prepare(cfg, NO_HUB, null);
        assertEquals(100, p.report().rowsRead);
        assertEquals(200, p.report().examples);
        String text = p.preview().get(0).text();
        assertTrue(text.startsWith("<|im_start|>user\nTranslate the following text from English to German.\nEnglish: "), text);
        assertTrue(text.contains("\nGerman:<|im_end|>\n<|im_start|>assistant\n"), text);
        assertTrue(p.preview().stream().anyMatch(x -> x.text().contains("from German to English")));
    }

    @Test
    void formatsAndDatasetInfoColumnMapping(@TempDir Path tmp) throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("data"));
        Files.writeString(dir.resolve("sg.jsonl"), "{\"conversations\":[{\"from\":\"human\",\"value\":\"Hi\"},{\"from\":\"gpt\",\"value\":\"Hello\"}]}\n");
        Files.writeString(dir.resolve("oa.jsonl"), "{\"messages\":[{\"role\":\"system\",\"content\":\"Be brief\"},{\"role\":\"user\",\"content\":\"Hi\"},{\"role\":\"assistant\",\"content\":\"Yo\"}]}\n");
        Files.writeString(dir.resolve("fs2.jsonl"), "{\"src\":\"2+2?\",\"tgt\":\"4\"}\n");
        Files.writeString(dir.resolve("rows.csv"), "question,answer\n\"Capital of France?\",Paris\n");
        try (TextParquetWriter w = new TextParquetWriter(dir.resolve("mt.parquet"), List.of("prompt", "response"))) {
            w.write(Map.of("prompt", "Translate to German: cat", "response", "Katze"));
            w.commit();
        }
        Files.writeString(dir.resolve("dataset_info.json"), "{\"qa\": {\"file_name\": \"rows.csv\", \"columns\": "
                + "{\"prompt\": \"question\", \"response\": \"answer\"}}, \"towerblocks\": {\"file_name\": \"mt.parquet\", "
                + "\"columns\": {\"prompt\": \"prompt\", \"response\": \"response\"}}}");
        SftConfig cfg = config(tmp.resolve("d"), Map.of("dataset", "sg.jsonl,oa.jsonl,fs2.jsonl,qa,towerblocks",
                "dataset_dir", dir.toString(), "template", "chatml"));
        DataPipeline.Prepared p = DataPipeline.prepare(cfg, NO_HUB, null);
        assertEquals(5, p.report().kept(), p.report().toString());
        assertEquals("sharegpt,openai,src_tgt,alpaca", p.report().formats);
        List<String> texts = p.preview().stream().map(DataPipeline.Preview::text).toList();
        assertTrue(texts.contains("<|im_start|>system\nBe brief<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nYo<|im_end|>\n"), texts.toString());
        assertTrue(texts.contains("<|im_start|>user\nCapital of France?<|im_end|>\n<|im_start|>assistant\nParis<|im_end|>\n"), texts.toString());
        assertTrue(texts.contains("<|im_start|>user\nTranslate to German: cat<|im_end|>\n<|im_start|>assistant\nKatze<|im_end|>\n"), texts.toString());
    }

    @Test
    void datasetFromTheHubThroughTheCache(@TempDir Path tmp) throws Exception {
        try (FakeHub hub = new FakeHub()) {
            hub.addFile("datasets/acme/mt", "train.jsonl",
                    "{\"src\":\"a\",\"tgt\":\"b\"}\n{\"src\":\"c\",\"tgt\":\"d\"}\n".getBytes(StandardCharsets.UTF_8));
            HubClient client = new HubClient(hub.endpoint(), null, tmp.resolve("cache"), false);
            SftConfig cfg = config(tmp.resolve("d"), Map.of("dataset", "hf://datasets/acme/mt", "template", "chatml"));
            assertEquals(2, DataPipeline.prepare(cfg, client, null).report().train);
        }
    }

    @Test
    void malformedLineNamesFileAndLineUnlessSkipped(@TempDir Path tmp) throws Exception {
        Path f = tmp.resolve("bad.jsonl");
        Files.writeString(f, "{\"instruction\":\"a\",\"output\":\"b\"}\n{\"instruction\": oops}\n{\"instruction\":\"c\",\"output\":\"\"}\n"
                + "{\"instruction\":\"d\",\"output\":\"e\"}\n");
        SftConfig cfg = config(tmp.resolve("d"), Map.of("dataset", f.toString(), "template", "chatml"));
        DataException e = assertThrows(DataException.class, () -> DataPipeline.prepare(cfg, NO_HUB, null));
        assertTrue(e.getMessage().startsWith(f + ":2: not valid JSON"), e.getMessage());
        assertFalse(Files.exists(tmp.resolve("d/train.parquet")), "a failed run leaves no file that looks finished");

        DataReport r = DataPipeline.prepare(cfg.with("on_error", "skip"), NO_HUB, null).report();
        assertEquals(2, r.train);
        assertEquals(1L, r.dropped.get(DropReason.MALFORMED_ROW));
        assertEquals(1L, r.dropped.get(DropReason.EMPTY_RESPONSE), "the empty answer of line 3 is dropped with its reason");
        assertTrue(r.skippedRows.get(0).contains(":2:"), r.skippedRows.toString());
    }

    @Test
    void missingColumnListsTheColumnsThatExist(@TempDir Path tmp) throws Exception {
        Path f = tmp.resolve("cols.jsonl");
        Files.writeString(f, "{\"instruction\":\"a\",\"output\":\"b\"}\n{\"instruction\":\"a\",\"answer\":\"b\"}\n");
        SftConfig cfg = config(tmp.resolve("d"), Map.of("dataset", f.toString(), "template", "chatml"));
        DataException e = assertThrows(DataException.class, () -> DataPipeline.prepare(cfg, NO_HUB, null));
        assertTrue(e.getMessage().contains(":2: missing column 'output'; the row has [instruction, answer]"), e.getMessage());
    }

    @Test
    void invalidUtf8GivesTheByteOffset(@TempDir Path tmp) throws Exception {
        Path f = tmp.resolve("utf.jsonl");
        byte[] good = "{\"instruction\":\"a\",\"output\":\"b\"}\n".getBytes(StandardCharsets.UTF_8);
        byte[] bad = "{\"instruction\":\"x\u00e9".getBytes(StandardCharsets.ISO_8859_1);   // a lone 0xE9 byte
        byte[] all = new byte[good.length + bad.length + 20];
        System.arraycopy(good, 0, all, 0, good.length);
        System.arraycopy(bad, 0, all, good.length, bad.length);
        byte[] tail = "\",\"output\":\"y\"}\n".getBytes(StandardCharsets.UTF_8);
        System.arraycopy(tail, 0, all, good.length + bad.length, Math.min(tail.length, 20));
        Files.write(f, java.util.Arrays.copyOf(all, good.length + bad.length + Math.min(tail.length, 20)));
        SftConfig cfg = config(tmp.resolve("d"), Map.of("dataset", f.toString(), "template", "chatml"));
        DataException e = assertThrows(DataException.class, () -> DataPipeline.prepare(cfg, NO_HUB, null));
        int offset = good.length + bad.length - 1;
        assertTrue(e.getMessage().contains(":2: invalid UTF-8 at byte offset " + offset), e.getMessage());
    }

    @Test
    void lengthPolicyDropTruncateOrError(@TempDir Path tmp) throws Exception {
        Path f = tmp.resolve("long.jsonl");
        Files.writeString(f, "{\"instruction\":\"short\",\"output\":\"ok\"}\n{\"instruction\":\"" + "word ".repeat(200)
                + "\",\"output\":\"" + "answer ".repeat(100) + "\"}\n");
        SftConfig cfg = config(tmp.resolve("d"), Map.of("dataset", f.toString(), "template", "chatml", "cutoff_len", 64));
        DataReport drop = DataPipeline.prepare(cfg, NO_HUB, null).report();
        assertEquals(1, drop.train);
        assertEquals(1L, drop.dropped.get(DropReason.OVERLONG));
        assertEquals(1, drop.overLengths.size(), "the histogram gets the dropped example's length");
        assertTrue(drop.overLengths.get(0) > 64, drop.overLengths.toString());
        DataReport trunc = DataPipeline.prepare(cfg.with("overlong", "truncate").with("tokenized_path", tmp.resolve("t").toString()),
                NO_HUB, null).report();
        assertEquals(1, trunc.train, "the long prompt leaves no answer inside 64 tokens: dropped after truncation");
        assertEquals(1L, trunc.dropped.get(DropReason.NO_SUPERVISED_TOKENS));
        DataException e = assertThrows(DataException.class, () -> DataPipeline.prepare(
                cfg.with("overlong", "error").with("tokenized_path", tmp.resolve("e").toString()), NO_HUB, null));
        assertTrue(e.getMessage().contains(f + ":2") && e.getMessage().contains("cutoff_len 64"), e.getMessage());
    }

    @Test
    void parallelFilesOfDifferentLengthAreAnError(@TempDir Path tmp) throws Exception {
        Files.writeString(tmp.resolve("t.en"), "a\nb\nc\n");
        Files.writeString(tmp.resolve("t.de"), "x\ny\n");
        SftConfig cfg = config(tmp.resolve("d"), Map.of("dataset", tmp.resolve("t.{en,de}").toString(), "template", "chatml"));
        DataException e = assertThrows(DataException.class, () -> DataPipeline.prepare(cfg, NO_HUB, null));
        assertTrue(e.getMessage().contains("different line counts"), e.getMessage());
    }
}
