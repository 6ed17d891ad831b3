package org.sft4j.template;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.sft4j.format.Message;
import org.sft4j.testing.Shared;
import org.sft4j.tokenize.Tokenizer;

import java.time.Clock;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every render of shared/fixtures/qwen3_chat_templates.json (transformers 5.17 apply_chat_template through the
 * Qwen3 thinking and hybrid templates, with and without enable_thinking=False): text and token ids exactly. The
 * tokenizer is built from qwen3-hybrid's vocab.json + merges.txt (there is no tokenizer.json), which both
 * templates share.
 */
class Qwen3TemplateFixtureTest {

    private static Tokenizer tok;

    @BeforeAll
    static void load() throws Exception {
        tok = Tokenizer.load(Shared.tokenizer("qwen3-hybrid"));
    }

    @AfterAll
    static void close() {
        tok.close();
    }

    static List<Message> messages(JsonNode arr) {
        List<Message> m = new ArrayList<>();
        arr.forEach(x -> m.add(new Message(x.get("role").asText(), x.get("content").asText(),
                x.hasNonNull("reasoning_content") ? x.get("reasoning_content").asText() : null)));
        return m;
    }

    @TestFactory
    Stream<DynamicTest> everyRenderMatchesInTextAndIds() throws Exception {
        JsonNode all = new ObjectMapper().readTree(Shared.fixtures("qwen3_chat_templates.json").toFile());
        List<DynamicTest> tests = new ArrayList<>();
        for (JsonNode f : all) {
            String model = f.get("model").asText();
            Map<String, Object> kwargs = new LinkedHashMap<>();
            f.get("template_kwargs").fields().forEachRemaining(e -> kwargs.put(e.getKey(), e.getValue().asBoolean()));
            String name = model + " conversation " + f.get("conversation").asInt() + " agp=" + f.get("add_generation_prompt")
                    + " " + kwargs;
            tests.add(DynamicTest.dynamicTest(name, () -> {
                ChatTemplate t = ChatTemplate.fromConfig(TokenizerConfig.read(Shared.tokenizer(model)), Clock.systemUTC())
                        .withTemplateKwargs(kwargs);
                String text = t.render(messages(f.get("messages")), f.get("add_generation_prompt").asBoolean());
                assertEquals(f.get("text").asText(), text);
                assertArrayEquals(new ObjectMapper().convertValue(f.get("input_ids"), int[].class), tok.ids(text));
            }));
        }
        assertEquals(36, tests.size());
        return tests.stream();
    }

    @Test
    void theThinkingTemplateComesFromChatTemplateJinja() throws Exception {
        TokenizerConfig cfg = TokenizerConfig.read(Shared.tokenizer("qwen3-thinking"));
        assertTrue(cfg.chatTemplate().endsWith("{{- '<|im_start|>assistant\\n<think>\\n' }}\n{%- endif %}"),
                "the template of chat_template.jinja, the only place this tokenizer has one");
        assertEquals(Map.of("eos_token", "<|im_end|>", "pad_token", "<|endoftext|>"), cfg.specialTokens(),
                "bos_token and unk_token are null in the config: undefined, as in transformers' special_tokens_map");
    }

    @Test
    void thinkTokensAreSingleAddedTokensOfTheBuiltTokenizer() {
        assertEquals(151667, tok.tokenId("<think>").getAsInt());
        assertEquals(151668, tok.tokenId("</think>").getAsInt());
        assertTrue(!tok.isSpecial(999) && tok.isSpecial(151645), "<|im_end|> is an added token, a vocabulary id is not");
        assertEquals("Ünïcödé ✓ — “quotes” 日本語", tok.decode(tok.ids("Ünïcödé ✓ — “quotes” 日本語"), false));
    }
}
