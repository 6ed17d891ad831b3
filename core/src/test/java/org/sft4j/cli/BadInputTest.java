package org.sft4j.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sft4j.data.TextParquetWriter;
import org.sft4j.testing.Shared;

import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Bad input a user actually sends, through the command line: each message names the file (or flag) and says
 * what is wrong in the user's words, with none of a library's internals.
 */
class BadInputTest {

    /** What no message may show: Jackson's source marker, object ids, Java and library type names. */
    private static void noInternals(String message) {
        for (String s : new String[] {"REDACTED", "@", "java.lang", "Exception", "LocalInputFile", "TrainArgs", "(-1)"}) {
            assertFalse(message.contains(s), "'" + s + "' in: " + message);
        }
    }

    private static Path model(Path tmp) throws Exception {
        return BadInputTestModels.llama(tmp);
    }

    @Test
    void aBrokenConfigJson(@TempDir Path tmp) throws Exception {
        Path dir = model(tmp);
        Files.writeString(dir.resolve("config.json"), "{\"model_type\": \"llama\",\n  \"hidden_size\": 64,\n");
        Cli r = Cli.run("generate", "--model-dir", dir.toString(), "--prompt-ids", "1,2", "--ids");
        assertEquals(1, r.code());
        assertEquals("sft4j generate: " + dir.resolve("config.json") + ":3:1: not valid JSON: it ends before the JSON is "
                + "complete (is the file cut short?)", r.err());
    }

    @Test
    void aBrokenMessagesFile(@TempDir Path tmp) throws Exception {
        Path msgs = Files.writeString(tmp.resolve("msgs.json"), "[{\"role\": \"user\" \"content\": \"hi\"}]");
        Cli r = Cli.run("template", "--model-dir", Shared.tokenizer("smollm2-135m-instruct").toString(), "--messages",
                msgs.toString());
        assertEquals(1, r.code());
        assertTrue(r.err().startsWith("sft4j template: " + msgs + ":1:18: not valid JSON: Unexpected character"), r.err());
        noInternals(r.err());
    }

    @Test
    void aParquetFileDamagedInTheMiddle(@TempDir Path tmp) throws Exception {
        Path f = tmp.resolve("rows.parquet");
        try (TextParquetWriter w = new TextParquetWriter(f, List.of("instruction", "output"))) {
            for (int i = 0; i < 20_000; i++) {
                w.write(Map.of("instruction", "Question number " + i + " with some words " + (i * 7919 % 10007),
                        "output", "Answer " + (i * 31 % 977)));
            }
            w.commit();
        }
        try (RandomAccessFile raf = new RandomAccessFile(f.toFile(), "rw")) {
            raf.seek(raf.length() / 3);
            raf.write(new byte[4096]);   // zeros over a compressed page
        }
        Cli r = Cli.run("data", MainTest.job(tmp).toString(), "--dataset", f.toString());
        assertEquals(1, r.code());
        assertTrue(r.err().startsWith("sft4j data: " + f + " row "), r.err());
        assertTrue(r.err().contains("the file is damaged"), r.err());
        noInternals(r.err());
    }

    @Test
    void aFileThatIsNotParquet(@TempDir Path tmp) throws Exception {
        Path f = Files.writeString(tmp.resolve("rows.parquet"), "instruction,output\nhi,there\n");
        Cli r = Cli.run("data", MainTest.job(tmp).toString(), "--dataset", f.toString());
        assertEquals(1, r.code());
        assertTrue(r.err().startsWith("sft4j data: " + f + ": not a Parquet file"), r.err());
        noInternals(r.err());
    }

    @Test
    void aLearningRateThatIsNotANumber(@TempDir Path tmp) throws Exception {
        Path cfg = MainTest.job(tmp);
        Files.writeString(cfg, Files.readString(cfg) + "learning_rate: fast\n");
        Cli r = Cli.run("train", cfg.toString());
        assertEquals(1, r.code());
        assertEquals("sft4j train: " + cfg + ": learning_rate must be a number, got 'fast'", r.err());
    }

    @Test
    void aPromptIdOutsideTheVocabulary(@TempDir Path tmp) throws Exception {
        Cli r = Cli.run("generate", "--model-dir", model(tmp).toString(), "--prompt-ids", "1,2,99999", "--ids");
        assertEquals(1, r.code());
        assertEquals("sft4j generate: --prompt-ids: token id 99999 is outside the vocabulary of " + tmp.resolve("model")
                + " (ids 0 to 511)", r.err());
    }

    @Test
    void anEmptyDataFile(@TempDir Path tmp) throws Exception {
        Path cfg = MainTest.job(tmp);
        Files.writeString(tmp.resolve("rows.jsonl"), "");
        Cli r = Cli.run("data", cfg.toString());
        assertEquals(1, r.code());
        assertEquals("sft4j data: " + tmp.resolve("rows.jsonl") + ": the dataset has no rows (an empty file?)", r.err());
    }

    @Test
    void aNameMissingFromDatasetInfo(@TempDir Path tmp) throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("data"));
        Files.writeString(dir.resolve("dataset_info.json"), "{\"hello\": {\"file_name\": \"hello.jsonl\"}, "
                + "\"alpaca_en\": {\"file_name\": \"alpaca.json\"}}");
        Cli r = Cli.run("data", MainTest.job(tmp).toString(), "--dataset", "hello2", "--dataset_dir", dir.toString());
        assertEquals(1, r.code());
        assertEquals("sft4j data: dataset 'hello2' is neither a name in " + dir.resolve("dataset_info.json")
                + " (it has: hello, alpaca_en) nor a file or folder in " + dir, r.err());
    }

    @Test
    void anUnknownDevice(@TempDir Path tmp) throws Exception {
        Cli r = Cli.run("generate", "--model-dir", model(tmp).toString(), "--prompt-ids", "1,2", "--ids", "--device", "tpu");
        assertEquals(1, r.code());
        assertEquals("sft4j generate: --device: 'tpu' is not a device: use auto, cpu, gpu or gpu:N", r.err());
        Cli train = Cli.run("train", MainTest.job(tmp).toString(), "--device", "tpu");
        assertEquals("sft4j train: --device: device must be auto, cpu, gpu or gpu:N, got 'tpu'", train.err());
    }

    @Test
    void generatingPastTheModelsPositionsIsSaid(@TempDir Path tmp) throws Exception {
        Cli r = Cli.run("generate", "--model-dir", model(tmp).toString(), "--prompt-ids", "1,2,3", "--ids",
                "--max-new-tokens", "300");
        assertEquals(0, r.code(), r.err());
        assertEquals("warning: 3 prompt tokens + 300 new tokens pass the model's 256 positions (max_position_embeddings); "
                + "what it generates past them is unreliable", r.err());
    }
}
