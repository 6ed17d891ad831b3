package org.sft4j.data;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.sft4j.format.Example;
import org.sft4j.format.Message;
import org.sft4j.template.ChatTemplate;
import org.sft4j.template.NamedTemplates;
import org.sft4j.template.TokenizerConfig;
import org.sft4j.testing.Shared;
import org.sft4j.tokenize.EncodedExample;
import org.sft4j.tokenize.SftEncoder;
import org.sft4j.tokenize.Tokenizer;

import java.time.Clock;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Labels checked against transformers' own ids: for a one-turn conversation the supervised tokens must
 * be exactly the ids of the full render beyond the ids of the render with add_generation_prompt.
 */
class MaskingTest {

    static EncodedExample encode(String model, List<Message> msgs, boolean trainOnPrompt, boolean maskHistory) throws Exception {
        TokenizerConfig cfg = TokenizerConfig.read(Shared.tokenizer(model));
        try (Tokenizer tok = Tokenizer.load(Shared.tokenizer(model))) {
            ChatTemplate t = ChatTemplate.fromConfig(cfg, Clock.systemDefaultZone());
            SftEncoder enc = SftEncoder.of(t, tok, cfg, trainOnPrompt, maskHistory);
            Example ex = new Example("x", msgs, "test", "");
            List<SftEncoder.Rendered> rs = enc.render(ex);
            assertEquals(1, rs.size(), "one sequence for a template that leaves earlier turns alone");
            return enc.encode("x", rs.get(0), tok.encode(rs.get(0).text()));
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"smollm2-135m-instruct", "qwen2.5-0.5b-instruct", "mistral-7b-instruct-v0.2"})
    void supervisedTokensAreTheAnswerAndItsEndTokens(String model) throws Exception {
        JsonNode all = new ObjectMapper().readTree(Shared.fixtures("chat_templates.json").toFile());
        int[] full = null;
        int[] prompt = null;
        List<Message> msgs = new ArrayList<>();
        for (JsonNode f : all) {
            if (f.get("model").asText().equals(model) && f.get("conversation").asInt() == 0) {
                int[] ids = new ObjectMapper().convertValue(f.get("input_ids"), int[].class);
                if (f.get("add_generation_prompt").asBoolean()) {
                    prompt = ids;
                } else {
                    full = ids;
                    f.get("messages").forEach(m -> msgs.add(new Message(m.get("role").asText(), m.get("content").asText())));
                }
            }
        }
        EncodedExample e = encode(model, msgs, false, false);
        assertArrayEquals(full, e.inputIds(), "ids are apply_chat_template's");
        int[] supervised = Arrays.stream(e.labels()).filter(l -> l != EncodedExample.IGNORE).toArray();
        assertArrayEquals(Arrays.copyOfRange(full, prompt.length, full.length), supervised);
        for (int t = 0; t < prompt.length; t++) {
            assertEquals(EncodedExample.IGNORE, e.labels()[t], "prompt token " + t + " is masked");
        }
        EncodedExample all2 = encode(model, msgs, true, false);
        assertArrayEquals(all2.inputIds(), all2.labels(), "train_on_prompt supervises everything");
    }

    @Test
    void mistralHasExactlyOneBos() throws Exception {
        EncodedExample e = encode("mistral-7b-instruct-v0.2", List.of(Message.user("Hi"), Message.assistant("Hello")), false, false);
        assertEquals(1, e.inputIds()[0]);
        assertTrue(e.inputIds()[1] != 1, "add_bos_token is set but the template already has <s>: no second BOS");
        assertEquals(2, e.inputIds()[e.length() - 1], "the answer ends with </s>, which is supervised");
        assertEquals(2, e.labels()[e.length() - 1]);
    }

    @Test
    void multiTurnSupervisesEveryAnswerOrOnlyTheLastWithMaskHistory() throws Exception {
        List<Message> msgs = List.of(Message.user("Hi"), Message.assistant("Hello! How can I help?"), Message.user("Name a colour."),
                Message.assistant("Blue."));
        EncodedExample all = encode("qwen2.5-0.5b-instruct", msgs, false, false);
        EncodedExample last = encode("qwen2.5-0.5b-instruct", msgs, false, true);
        try (Tokenizer tok = Tokenizer.load(Shared.tokenizer("qwen2.5-0.5b-instruct"))) {
            int[] firstAnswer = tok.ids("Hello! How can I help?<|im_end|>\n");
            int[] lastAnswer = tok.ids("Blue.<|im_end|>\n");
            int[] sup = Arrays.stream(all.labels()).filter(l -> l != EncodedExample.IGNORE).toArray();
            int[] both = new int[firstAnswer.length + lastAnswer.length];
            System.arraycopy(firstAnswer, 0, both, 0, firstAnswer.length);
            System.arraycopy(lastAnswer, 0, both, firstAnswer.length, lastAnswer.length);
            assertArrayEquals(both, sup);
            assertArrayEquals(lastAnswer, Arrays.stream(last.labels()).filter(l -> l != EncodedExample.IGNORE).toArray());
        }
    }

    @Test
    void namedTemplateOnABaseModelEndsAnswersWithEos() throws Exception {
        TokenizerConfig cfg = TokenizerConfig.read(Shared.tokenizer("smollm2-135m-instruct"));
        ChatTemplate plain = NamedTemplates.get("plain", cfg, Clock.systemDefaultZone());
        assertEquals("Translate: cat German: Katze<|im_end|>",
                plain.render(List.of(Message.user("Translate: cat German:"), Message.assistant("Katze")), false));
        ChatTemplate alpaca = NamedTemplates.get("alpaca", cfg, Clock.systemDefaultZone());
        assertEquals("Below is an instruction that describes a task. Write a response that appropriately completes the request."
                + "\n\n### Instruction:\nSay hi\n\n### Response:\nhi<|im_end|>\n\n",
                alpaca.render(List.of(Message.user("Say hi"), Message.assistant("hi")), false));
    }
}
