package org.sft4j.cli;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sft4j.nd.Engines;
import org.sft4j.testing.Shared;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Malformed inputs found by trying the entry points beyond the list; each message names the file or flag. */
class MoreBadInputTest {

    private static Path tokenizerCopy(Path tmp) throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("tok"));
        for (String f : new String[] {"tokenizer.json", "tokenizer_config.json", "config.json"}) {
            Files.copy(Shared.tokenizer("smollm2-135m-instruct").resolve(f), dir.resolve(f));
        }
        return dir;
    }

    @Test
    void aTokenizerJsonCutShort(@TempDir Path tmp) throws Exception {
        Path tok = tokenizerCopy(tmp);
        Files.writeString(tok.resolve("tokenizer.json"), Files.readString(tok.resolve("tokenizer.json")).substring(0, 5000));
        Cli r = Cli.run("data", MainTest.job(tmp).toString(), "--model_name_or_path", tok.toString());
        assertEquals(1, r.code());
        assertTrue(r.err().matches("sft4j data: " + java.util.regex.Pattern.quote(tok.resolve("tokenizer.json").toString())
                + ":\\d+:\\d+: not valid JSON: it ends before the JSON is complete \\(is the file cut short\\?\\)"), r.err());
    }

    @Test
    void aJsonFileThatIsNoTokenizer(@TempDir Path tmp) throws Exception {
        Path tok = tokenizerCopy(tmp);
        Files.writeString(tok.resolve("tokenizer.json"), "{}");
        Cli r = Cli.run("data", MainTest.job(tmp).toString(), "--model_name_or_path", tok.toString());
        assertTrue(r.err().startsWith("sft4j data: " + tok.resolve("tokenizer.json") + ": not a tokenizer"), r.err());
    }

    @Test
    void yamlThatDoesNotParse(@TempDir Path tmp) throws Exception {
        Path cfg = Files.writeString(tmp.resolve("job.yaml"), "learning_rate: 1e-4\n\tmax_steps: 2\n");
        Cli r = Cli.run("train", cfg.toString());
        assertEquals(1, r.code());
        assertTrue(r.err().startsWith("sft4j train: " + cfg + ":1:"), r.err());
        assertTrue(r.err().contains("not valid YAML:") && r.err().contains("TAB"), r.err());
        assertFalse(r.err().contains("Source") || r.err().contains("reader"), r.err());
    }

    @Test
    void aKeySetTwice(@TempDir Path tmp) throws Exception {
        Path cfg = Files.writeString(tmp.resolve("job.yaml"), "learning_rate: 1e-4\nmax_steps: 2\nlearning_rate: 1e-3\n");
        Cli r = Cli.run("train", cfg.toString());
        assertEquals("sft4j train: " + cfg + ":3:14: not valid YAML: a key is set twice: learning_rate (keep one)", r.err());
    }

    @Test
    void anEmptyConfigFile(@TempDir Path tmp) throws Exception {
        Path cfg = Files.writeString(tmp.resolve("job.yaml"), "\n");
        assertEquals("sft4j data: " + cfg + ": the config file is empty", Cli.run("data", cfg.toString()).err());
    }

    @Test
    void aGpuThisMachineDoesNotHave(@TempDir Path tmp) throws Exception {
        Path model = BadInputTestModels.llama(tmp);
        Cli r = Cli.run("generate", "--model-dir", model.toString(), "--prompt-ids", "1,2", "--ids", "--device", "gpu:99");
        assertEquals(1, r.code());
        assertTrue(r.err().startsWith("sft4j generate: device gpu:99: "), r.err());
        noJava(r.err());
    }

    @Test
    void aGpuOnAMachineWithNone(@TempDir Path tmp) throws Exception {
        Assumptions.assumeTrue(Engines.pytorch().getGpuCount() == 0, "a GPU is here");
        Cli r = Cli.run("generate", "--model-dir", BadInputTestModels.llama(tmp).toString(), "--prompt-ids", "1,2", "--ids",
                "--device", "gpu");
        assertEquals("sft4j generate: device gpu: no GPU is visible here (use cpu or auto)", r.err());
    }

    @Test
    void aModelFolderThatIsNotThere(@TempDir Path tmp) throws Exception {
        Cli r = Cli.run("data", MainTest.job(tmp).toString(), "--model_name_or_path", "runs/no-such-model");
        assertEquals(1, r.code());
        assertTrue(r.err().startsWith("sft4j data: model 'runs/no-such-model' is not a folder here"), r.err());
        noJava(r.err());
    }

    @Test
    void aTokenizerThatIsNotTheModels(@TempDir Path tmp) throws Exception {
        Path model = BadInputTestModels.llama(tmp);   // vocabulary of 512; SmolLM2's tokenizer makes ids up to 49151
        Files.copy(Shared.tokenizer("smollm2-135m-instruct").resolve("tokenizer.json"), model.resolve("tokenizer.json"));
        Cli r = Cli.run("train", MainTest.job(tmp).toString(), "--model_name_or_path", model.toString(), "--template", "chatml");
        assertEquals(1, r.code());
        assertTrue(r.err().contains("has 512 tokens (vocab_size): tokenizer and model do not belong together"), r.err());
        assertFalse(r.err().contains("index out of range"), r.err());
    }

    @Test
    void aUtf16DataFile(@TempDir Path tmp) throws Exception {
        Path cfg = MainTest.job(tmp);
        Files.write(tmp.resolve("rows.jsonl"), "{\"instruction\": \"hi\", \"output\": \"there\"}\n".getBytes(StandardCharsets.UTF_16));
        Cli r = Cli.run("data", cfg.toString());
        assertEquals("sft4j data: " + tmp.resolve("rows.jsonl") + ":1: the file is UTF-16 (it starts with a UTF-16 byte-order "
                + "mark); save it as UTF-8", r.err());
    }

    @Test
    void initModelWithAWordForANumber(@TempDir Path tmp) throws Exception {
        Cli r = Cli.run("init-model", "--config", Shared.fixtures("models/llama/config.json").toString(), "--tokenizer",
                tokenizerCopy(tmp).toString(), "--out", tmp.resolve("m").toString(), "--set", "hidden_size=wide");
        assertEquals("sft4j init-model: --set hidden_size=wide: a whole number is expected", r.err());
    }

    private static void noJava(String message) {
        for (String s : new String[] {"java.", "Exception", "cuda", "Failed to parse"}) {
            assertFalse(message.contains(s), "'" + s + "' in: " + message);
        }
    }
}
