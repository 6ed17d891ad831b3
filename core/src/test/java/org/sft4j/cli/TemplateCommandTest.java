package org.sft4j.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sft4j.testing.Shared;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** {@code sft4j template} renders as transformers does, enable_thinking and reasoning_content included. */
class TemplateCommandTest {

    private static String out(String... args) {
        PrintStream out = System.out;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        System.setOut(new PrintStream(buf, true, StandardCharsets.UTF_8));
        try {
            assertEquals(0, Main.run(args), String.join(" ", args));
            return buf.toString(StandardCharsets.UTF_8);
        } finally {
            System.setOut(out);
        }
    }

    static JsonNode fixture(String model, int conversation, boolean agp, boolean thinkingOff) throws Exception {
        for (JsonNode f : new ObjectMapper().readTree(Shared.fixtures("qwen3_chat_templates.json").toFile())) {
            if (f.get("model").asText().equals(model) && f.get("conversation").asInt() == conversation
                    && f.get("add_generation_prompt").asBoolean() == agp && f.get("template_kwargs").has("enable_thinking") == thinkingOff) {
                return f;
            }
        }
        throw new AssertionError();
    }

    @Test
    void enableThinkingFalseGivesTransformersGenerationPrompt(@TempDir Path tmp) throws Exception {
        JsonNode f = fixture("qwen3-hybrid", 0, true, true);
        Path msgs = Files.writeString(tmp.resolve("m.json"), f.get("messages").toString());
        String dir = Shared.tokenizer("qwen3-hybrid").toString();
        assertEquals(f.get("text").asText(), out("template", "--model-dir", dir, "--messages", msgs.toString(),
                "--add-generation-prompt", "--enable-thinking", "false"));
        int[] ids = new ObjectMapper().convertValue(f.get("input_ids"), int[].class);
        assertEquals(Arrays.toString(ids).replace(" ", "") + "\n", out("template", "--model-dir", dir, "--messages",
                msgs.toString(), "--add-generation-prompt", "--enable-thinking", "false", "--ids"));
    }

    @Test
    void reasoningContentIsRenderedByTheTemplateOfChatTemplateJinja(@TempDir Path tmp) throws Exception {
        JsonNode f = fixture("qwen3-thinking", 3, false, false);
        Path msgs = Files.writeString(tmp.resolve("m.json"), f.get("messages").toString());
        assertEquals(f.get("text").asText(), out("template", "--model-dir", Shared.tokenizer("qwen3-thinking").toString(),
                "--messages", msgs.toString()));
    }
}
