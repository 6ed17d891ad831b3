package org.sft4j.template;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.sft4j.testing.Shared;
import org.sft4j.tokenize.Tokenizer;

import java.util.HashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** The rendered fixtures tokenised by DJL's tokenizer give apply_chat_template's input_ids. */
class TemplateTokenIdsTest {

    @Test
    void everyFixtureWithIdsMatchesTransformers() throws Exception {
        JsonNode all = new ObjectMapper().readTree(Shared.fixtures("chat_templates.json").toFile());
        Map<String, Tokenizer> toks = new HashMap<>();
        int compared = 0;
        try {
            for (JsonNode f : all) {
                if (!f.hasNonNull("input_ids")) {
                    continue;
                }
                String model = f.get("model").asText();
                Tokenizer tok = toks.computeIfAbsent(model, m -> {
                    try {
                        return Tokenizer.load(Shared.tokenizer(m));
                    } catch (Exception e) {
                        throw new RuntimeException(e);
                    }
                });
                ChatTemplate t = ChatTemplate.fromConfig(TokenizerConfig.read(Shared.tokenizer(model)),
                        ChatTemplateFixtureTest.FIXTURE_DAY);
                String text = t.render(ChatTemplateFixtureTest.messages(f.get("messages")),
                        f.get("add_generation_prompt").asBoolean());
                int[] expected = new int[f.get("input_ids").size()];
                for (int i = 0; i < expected.length; i++) {
                    expected[i] = f.get("input_ids").get(i).asInt();
                }
                assertArrayEquals(expected, tok.ids(text), model + " conversation " + f.get("conversation"));
                compared++;
            }
        } finally {
            toks.values().forEach(Tokenizer::close);
        }
        assertEquals(26, compared, "SmolLM2, Qwen2.5 and Mistral renders carry ids");
    }
}
