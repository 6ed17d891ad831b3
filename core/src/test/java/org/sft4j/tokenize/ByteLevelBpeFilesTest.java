package org.sft4j.tokenize;

import org.junit.jupiter.api.Test;
import org.sft4j.testing.Shared;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The tokenizer built from vocab.json + merges.txt against the one transformers converted for Qwen2.5 (its
 * tokenizer.json, same vocabulary): equal ids and offsets on text that exercises every branch of the pre-tokenizer
 * regex, NFC, the byte-level mapping and the added tokens.
 */
class ByteLevelBpeFilesTest {

    static final List<String> TEXTS = List.of(
            "<|im_start|>user\nI'll say it's THEY'RE fine, we'd've gone.<|im_end|>\n<|im_start|>assistant\n",
            "Numbers 12345 and 3.14159, dates 2026-11-22, $100, 50%.",
            "  leading spaces,\ttabs\t\tand trailing   \r\n\r\nwindows lines\n\n\n",
            "Ünïcödé ✓ — “quotes” 日本語 한국어 العربية 🙂👍🏽 e\u0301 (decomposed é)",
            "code: def f(x):\n    return x**2  # comment\n<tool_call>\n{\"a\": [1, 2]}\n</tool_call>",
            "<think>\nreasoning\n</think>\n\nanswer<|endoftext|><|fim_prefix|>");

    @Test
    void qwen25VocabAndMergesTokenizeAsItsTokenizerJson() throws Exception {
        Path dir = Shared.tokenizer("qwen2.5-0.5b-instruct");
        try (Tokenizer converted = Tokenizer.load(dir);
             Tokenizer built = Tokenizer.fromJson(ByteLevelBpeFiles.tokenizerJson(dir), dir.resolve("vocab.json"), List.of())) {
            for (String text : TEXTS) {
                Tokenizer.Encoded a = converted.encode(text);
                Tokenizer.Encoded b = built.encode(text);
                assertArrayEquals(a.ids(), b.ids(), text);
                assertArrayEquals(a.starts(), b.starts(), "offsets of " + text);
            }
            assertTrue(built.isSpecial(151644) && built.tokenId("<tool_call>").getAsInt() == 151657);
        }
    }

    @Test
    void loadsADirectoryWithoutTokenizerJson() throws Exception {
        try (Tokenizer tok = Tokenizer.load(Shared.tokenizer("qwen3-hybrid"))) {
            assertEquals(Shared.tokenizer("qwen3-hybrid").resolve("vocab.json"), tok.file());
            assertEquals(3, tok.sourceFiles().size(), "vocab, merges and the config feed the data cache key");
        }
    }

    @Test
    void otherTokenizerClassesAndBrokenMergesAreRefusedByName(@org.junit.jupiter.api.io.TempDir Path tmp) throws Exception {
        Files.writeString(tmp.resolve("vocab.json"), "{\"a\": 0, \"b\": 1, \"ab\": 2}");
        Files.writeString(tmp.resolve("merges.txt"), "#version: 0.2\na b\n");
        Files.writeString(tmp.resolve("tokenizer_config.json"), "{\"tokenizer_class\": \"GPT2Tokenizer\"}");
        IOException e = assertThrows(IOException.class, () -> Tokenizer.load(tmp));
        assertTrue(e.getMessage().contains("tokenizer_class 'GPT2Tokenizer'"), e.getMessage());

        Files.writeString(tmp.resolve("tokenizer_config.json"), "{\"tokenizer_class\": \"Qwen2TokenizerFast\"}");
        try (Tokenizer tok = Tokenizer.load(tmp)) {
            assertArrayEquals(new int[] {2, 0}, tok.ids("aba"), "the one merge applies");
        }
        Files.writeString(tmp.resolve("merges.txt"), "#version: 0.2\na b\nab\n");
        e = assertThrows(IOException.class, () -> Tokenizer.load(tmp));
        assertTrue(e.getMessage().endsWith("merges.txt line 3: a merge must be two tokens separated by one space, found 'ab'"),
                e.getMessage());

        Files.writeString(tmp.resolve("tokenizer_config.json"), "{\"tokenizer_class\": ");
        e = assertThrows(IOException.class, () -> Tokenizer.load(tmp));
        assertTrue(e.getMessage().startsWith(tmp.resolve("tokenizer_config.json") + ":1:21: not valid JSON: it ends before"),
                e.getMessage());
        assertTrue(!e.getMessage().contains("Source:"), "no parser internals: " + e.getMessage());
    }
}
