package org.sft4j.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.sft4j.testing.Shared;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The command line: help everywhere, the README's --key value overrides, and one-line errors that name the input. */
class MainTest {

    @ParameterizedTest
    @ValueSource(strings = {"data", "train", "eval", "generate", "template", "bleu", "init-model", "export"})
    void everyCommandHasHelp(String command) {
        Cli r = Cli.run(command, "--help");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().startsWith("Usage: sft4j " + command), r.out());
        assertEquals("", r.err());
    }

    @Test
    void helpNamesACommand() {
        Cli r = Cli.run("help", "train");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().startsWith("Usage: sft4j train"), r.out());
        assertTrue(r.out().contains("learning_rate"), "the config keys are listed: " + r.out());
    }

    @Test
    void keyValueFlagsOverrideTheConfigOnData(@TempDir Path tmp) throws Exception {
        Path cfg = job(tmp);
        Cli r = Cli.run("data", cfg.toString(), "--max_samples", "3", "--cutoff-len=64", "--val_size", "0");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("examples                                 3"), r.out());
        Cli set = Cli.run("data", cfg.toString(), "--set", "max_samples=2", "--set", "val_size=0");
        assertEquals(0, set.code(), set.err());
        assertTrue(set.out().contains("examples                                 2"), set.out());
    }

    @Test
    void aFlagsBadValueIsNamedBeforeTraining(@TempDir Path tmp) throws Exception {
        Path cfg = job(tmp);
        Cli r = Cli.run("train", cfg.toString(), "--learning_rate", "-1e-3");
        assertEquals(1, r.code());
        assertEquals("sft4j train: --learning_rate: learning_rate must be a positive number, got -0.001", r.err());
        assertFalse(Files.exists(tmp.resolve("run")), "nothing was written");
    }

    @Test
    void evalTakesFlagsToo(@TempDir Path tmp) throws Exception {
        Cli r = Cli.run("eval", job(tmp).toString(), "--max_new_tokens", "0");
        assertEquals(1, r.code());
        assertEquals("sft4j eval: --max_new_tokens: max_new_tokens must be at least 1, got 0", r.err());
    }

    @Test
    void aFlagWithoutItsValueSaysSo(@TempDir Path tmp) throws Exception {
        Cli r = Cli.run("data", "--max_samples", job(tmp).toString());
        assertEquals(1, r.code());
        assertTrue(r.err().contains("no CONFIG.yaml given"), r.err());
    }

    @Test
    void skippedRowsArePrintedWithTheirReasons(@TempDir Path tmp) throws Exception {
        Path cfg = job(tmp);
        StringBuilder rows = new StringBuilder(Files.readString(tmp.resolve("rows.jsonl")));
        for (int i = 0; i < 7; i++) {
            rows.append("{\"instruction\": broken ").append(i).append("}\n");
        }
        Files.writeString(tmp.resolve("rows.jsonl"), rows);
        Cli r = Cli.run("data", cfg.toString(), "--on_error", "skip", "--val_size", "0");
        assertEquals(0, r.code(), r.err());
        String listed = r.out().substring(r.out().indexOf("skipped rows (on_error: skip):"));
        assertTrue(listed.contains("rows.jsonl:9: not valid JSON"), listed);
        assertTrue(listed.contains("rows.jsonl:13: not valid JSON"), listed);
        assertFalse(listed.contains("rows.jsonl:14:"), "five are shown: " + listed);
        assertTrue(listed.contains("... and 2 more"), listed);
    }

    @Test
    void aMissingFileIsNamed(@TempDir Path tmp) throws Exception {
        Path ref = Files.writeString(tmp.resolve("ref.de"), "ein Haus\n");
        Path missing = tmp.resolve("hyp.de");
        Cli r = Cli.run("bleu", "--hyp", missing.toString(), "--ref", ref.toString());
        assertEquals(1, r.code());
        assertEquals("sft4j bleu: no such file: " + missing, r.err());
    }

    @Test
    void linesThatDoNotPairUpNameBothFiles(@TempDir Path tmp) throws Exception {
        Path ref = Files.writeString(tmp.resolve("ref.de"), "ein Haus\nzwei\n");
        Path hyp = Files.writeString(tmp.resolve("hyp.de"), "ein Haus\n");
        Cli r = Cli.run("bleu", "--hyp", hyp.toString(), "--ref", ref.toString());
        assertEquals(1, r.code());
        assertTrue(r.err().contains(hyp.toString()) && r.err().contains(ref.toString()) && r.err().contains("1 lines")
                && r.err().contains("2"), r.err());
    }

    /** A small alpaca job on SmolLM2's tokenizer, writing under tmp. */
    static Path job(Path tmp) throws Exception {
        StringBuilder rows = new StringBuilder();
        for (int i = 0; i < 8; i++) {
            rows.append("{\"instruction\": \"Say ").append(i).append("\", \"input\": \"\", \"output\": \"").append(i)
                    .append("\"}\n");
        }
        Path data = Files.writeString(tmp.resolve("rows.jsonl"), rows);
        return Files.writeString(tmp.resolve("job.yaml"), String.join("\n",
                "model_name_or_path: " + Shared.tokenizer("smollm2-135m-instruct"),
                "dataset: " + data,
                "tokenized_path: " + tmp.resolve("data"),
                "output_dir: " + tmp.resolve("run"),
                "max_steps: 1", ""));
    }
}
