package org.sft4j.data;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sft4j.config.EnableThinking;
import org.sft4j.config.SftConfig;
import org.sft4j.format.Example;
import org.sft4j.format.Message;
import org.sft4j.read.DataException;
import org.sft4j.template.ChatTemplate;
import org.sft4j.template.TokenizerConfig;
import org.sft4j.testing.Shared;
import org.sft4j.tokenize.EncodedExample;
import org.sft4j.tokenize.SftEncoder;
import org.sft4j.tokenize.Tokenizer;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What is supervised in Qwen3's think blocks, pinned against transformers' ids in qwen3_chat_templates.json: the
 * sequence is apply_chat_template's full render, and the supervised tokens are exactly what the full render adds to
 * the render of the prompt with add_generation_prompt (with the same enable_thinking).
 */
class ThinkingMaskTest {

    private static Tokenizer tok;
    private static JsonNode fixtures;

    @BeforeAll
    static void load() throws Exception {
        tok = Tokenizer.load(Shared.tokenizer("qwen3-hybrid"));
        fixtures = new ObjectMapper().readTree(Shared.fixtures("qwen3_chat_templates.json").toFile());
    }

    @AfterAll
    static void close() {
        tok.close();
    }

    /** The fixture's ids for a conversation of the hybrid template. */
    static int[] ids(int conversation, boolean addGenerationPrompt, boolean thinkingOff) {
        for (JsonNode f : fixtures) {
            if (f.get("model").asText().equals("qwen3-hybrid") && f.get("conversation").asInt() == conversation
                    && f.get("add_generation_prompt").asBoolean() == addGenerationPrompt
                    && f.get("template_kwargs").has("enable_thinking") == thinkingOff) {
                return new ObjectMapper().convertValue(f.get("input_ids"), int[].class);
            }
        }
        throw new AssertionError("no fixture " + conversation);
    }

    static List<Message> conversation(int conversation) {
        for (JsonNode f : fixtures) {
            if (f.get("conversation").asInt() == conversation && !f.get("add_generation_prompt").asBoolean()) {
                List<Message> m = new ArrayList<>();
                f.get("messages").forEach(x -> m.add(new Message(x.get("role").asText(), x.get("content").asText(),
                        x.hasNonNull("reasoning_content") ? x.get("reasoning_content").asText() : null)));
                return m;
            }
        }
        throw new AssertionError("no conversation " + conversation);
    }

    static List<EncodedExample> encode(List<Message> msgs, EnableThinking thinking, boolean maskHistory) throws Exception {
        TokenizerConfig cfg = TokenizerConfig.read(Shared.tokenizer("qwen3-hybrid"));
        SftEncoder enc = SftEncoder.of(ChatTemplate.fromConfig(cfg, Clock.systemUTC()), tok, cfg, false, maskHistory, thinking);
        List<EncodedExample> out = new ArrayList<>();
        for (SftEncoder.Rendered r : enc.render(new Example("x", msgs, "test.jsonl:1", ""))) {
            out.add(enc.encode("x", r, tok.encode(r.text())));
        }
        return out;
    }

    static int[] supervised(EncodedExample e) {
        return Arrays.stream(e.labels()).filter(l -> l != EncodedExample.IGNORE).toArray();
    }

    static String supervisedText(EncodedExample e) {
        return tok.decode(supervised(e), false);
    }

    @Test
    void reasoningIsSupervisedWithItsThinkBlock() throws Exception {
        EncodedExample e = single(encode(conversation(3), EnableThinking.TRUE, false));
        int[] full = ids(3, false, false);
        int[] prompt = ids(3, true, false);
        assertArrayEquals(full, e.inputIds(), "the sequence is apply_chat_template's");
        assertArrayEquals(Arrays.copyOfRange(full, prompt.length, full.length), supervised(e));
        assertEquals("<think>\nTwo plus two.\nThat is four.\n</think>\n\n4<|im_end|>\n", supervisedText(e));
        for (int t = 0; t < prompt.length; t++) {
            assertEquals(EncodedExample.IGNORE, e.labels()[t], "prompt token " + t);
        }
    }

    @Test
    void theEmptyThinkBlockIsSupervisedWhenThinkingIsOn() throws Exception {
        EncodedExample e = single(encode(conversation(0), EnableThinking.TRUE, false));
        int[] full = ids(0, false, false);
        int[] prompt = ids(0, true, false);
        assertArrayEquals(full, e.inputIds());
        assertArrayEquals(Arrays.copyOfRange(full, prompt.length, full.length), supervised(e));
        assertEquals("<think>\n\n</think>\n\nDie Katze sitzt auf der Matte.<|im_end|>\n", supervisedText(e));
    }

    @Test
    void theEmptyThinkBlockIsPromptWhenThinkingIsOff() throws Exception {
        EncodedExample e = single(encode(conversation(0), EnableThinking.FALSE, false));
        int[] full = ids(0, false, true);
        int[] prompt = ids(0, true, true);
        assertArrayEquals(full, e.inputIds());
        assertTrue(tok.decode(prompt, false).endsWith("<|im_start|>assistant\n<think>\n\n</think>\n\n"),
                "transformers' generation prompt with enable_thinking=False holds the empty block");
        assertArrayEquals(Arrays.copyOfRange(full, prompt.length, full.length), supervised(e));
        assertEquals("Die Katze sitzt auf der Matte.<|im_end|>\n", supervisedText(e));
    }

    @Test
    void thinkingOffRemovesReasoningAsLlamaFactoryDoes() throws Exception {
        EncodedExample e = single(encode(conversation(3), EnableThinking.FALSE, false));
        assertEquals("<|im_start|>user\n2+2?<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n4<|im_end|>\n",
                tok.decode(e.inputIds(), false));
        assertEquals("4<|im_end|>\n", supervisedText(e));
    }

    @Test
    void autoDecidesPerExample() throws Exception {
        assertEquals(supervisedText(single(encode(conversation(3), EnableThinking.TRUE, false))),
                supervisedText(single(encode(conversation(3), EnableThinking.AUTO, false))), "reasoning: as thinking on");
        assertEquals("Die Katze sitzt auf der Matte.<|im_end|>\n",
                supervisedText(single(encode(conversation(0), EnableThinking.AUTO, false))), "no reasoning: as thinking off");
    }

    @Test
    void turnsTheTemplateRewritesAreTrainedInTheirOwnSequence() throws Exception {
        List<EncodedExample> seqs = encode(conversation(2), EnableThinking.TRUE, false);
        assertEquals(2, seqs.size(), "Qwen3 renders the first answer without its think block once a user turn follows");
        assertEquals("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\nHello! How can I help?"
                + "<|im_end|>\n", tok.decode(seqs.get(0).inputIds(), false), "the first turn as inference shows it");
        assertEquals("<think>\n\n</think>\n\nHello! How can I help?<|im_end|>\n", supervisedText(seqs.get(0)));
        int[] full = ids(2, false, false);
        int[] prompt = ids(2, true, false);
        assertArrayEquals(full, seqs.get(1).inputIds(), "then the whole conversation, as apply_chat_template renders it");
        assertArrayEquals(Arrays.copyOfRange(full, prompt.length, full.length), supervised(seqs.get(1)),
                "where only the last answer is supervised: the rewritten first one is not what the model says");
    }

    @Test
    void earlierReasoningIsSupervisedWhereInferenceShowsIt() throws Exception {
        List<EncodedExample> seqs = encode(conversation(4), EnableThinking.TRUE, false);
        assertEquals(2, seqs.size());
        assertEquals("<think>\nItaly. Rome.\n</think>\n\nRome.<|im_end|>\n", supervisedText(seqs.get(0)));
        assertArrayEquals(ids(4, false, false), seqs.get(1).inputIds());
        assertEquals("<think>\nParis.\n</think>\n\nParis.<|im_end|>\n", supervisedText(seqs.get(1)));
        assertTrue(!tok.decode(seqs.get(1).inputIds(), false).contains("Italy. Rome."), "dropped from the history");
    }

    /**
     * The thinking-only template opens the block in its generation prompt ("<think>\n"), and the full render's
     * "\n\n" after <think> is one token that starts inside that prompt: it stays masked (a token belongs where it
     * starts), so the supervised text begins at </think>, and the ids are still transformers' full render.
     */
    @Test
    void thinkingOnlyTemplateSupervisesFromTheClosingTag() throws Exception {
        TokenizerConfig cfg = TokenizerConfig.read(Shared.tokenizer("qwen3-thinking"));
        SftEncoder enc = SftEncoder.of(ChatTemplate.fromConfig(cfg, Clock.systemUTC()), tok, cfg, false, false,
                EnableThinking.TRUE);
        SftEncoder.Rendered r = enc.render(new Example("x", conversation(0), "t", "")).get(0);
        EncodedExample e = enc.encode("x", r, tok.encode(r.text()));
        assertTrue(r.text().substring(0, r.spans().get(0)[0]).endsWith("<|im_start|>assistant\n<think>\n"));
        assertEquals("</think>\n\nDie Katze sitzt auf der Matte.<|im_end|>\n", supervisedText(e));
        assertArrayEquals(ids(0, false, false), e.inputIds(), "the thinking and hybrid templates render this alike");
    }

    @Test
    void maskHistoryKeepsOneSequence() throws Exception {
        EncodedExample e = single(encode(conversation(2), EnableThinking.TRUE, true));
        assertEquals("<think>\n\n</think>\n\nBlue.<|im_end|>\n", supervisedText(e));
    }

    @Test
    void aTemplateWhosePromptIsNotAPrefixStopsWithTheExample() throws Exception {
        ChatTemplate odd = new ChatTemplate("odd", "{% for m in messages %}{{ m.content }}{% endfor %}"
                + "{% if add_generation_prompt %}GEN{% endif %}", Map.of(), List.of(), Clock.systemUTC());
        SftEncoder enc = new SftEncoder(odd, false, false, null, -1);
        DataException e = assertThrows(DataException.class,
                () -> enc.render(new Example("x", List.of(Message.user("Hi"), Message.assistant("Yo")), "data.jsonl:7", "")));
        assertTrue(e.getMessage().startsWith("data.jsonl:7"), e.getMessage());
        assertTrue(e.getMessage().contains("does not render the conversation as growing prefixes"), e.getMessage());
    }

    @Test
    void thePipelineSplitsQwen3ConversationsAndReportsIt(@TempDir Path tmp) throws Exception {
        Path data = tmp.resolve("chat.jsonl");
        Files.writeString(data, """
                {"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello! How can I help?"}, {"role": "user", "content": "Name a colour."}, {"role": "assistant", "content": "Blue."}]}
                {"messages": [{"role": "user", "content": "2+2?"}, {"role": "assistant", "content": "4", "reasoning_content": "Two plus two.\\nThat is four."}]}
                """);
        SftConfig cfg = SftConfig.of(Map.of("model_name_or_path", Shared.tokenizer("qwen3-hybrid").toString(),
                "dataset", data.toString(), "tokenized_path", tmp.resolve("out").toString(), "enable_thinking", "false"));
        DataPipeline.Prepared p = DataPipeline.prepare(cfg, DataPipelineTest.NO_HUB, null);
        assertEquals(2, p.report().examples);
        assertEquals(3, p.report().train, "the two-turn conversation gives two sequences");
        assertEquals(1, p.report().splitByTurn);
        assertEquals(1, p.report().reasoningRemoved);
        assertEquals(List.of(data + "#1#1/2", data + "#1#2/2", data + "#2"),
                p.preview().stream().map(DataPipeline.Preview::id).toList(), "a split conversation's sequences: #k/n");
        assertEquals("Hello! How can I help?<|im_end|>\n", tok.decode(supervised(new EncodedExample("x",
                p.preview().get(0).inputIds(), p.preview().get(0).labels(), false)), false), "enable_thinking: false");
        assertTrue(p.preview().get(2).text().endsWith("<think>\n\n</think>\n\n4<|im_end|>\n"), "reasoning removed");
        DataPipeline.Prepared auto = DataPipeline.prepare(cfg.with("enable_thinking", null), DataPipelineTest.NO_HUB, null);
        assertTrue(!auto.reused(), "another enable_thinking is another tokenized set");
        assertEquals("<think>\nTwo plus two.\nThat is four.\n</think>\n\n4<|im_end|>\n", tok.decode(supervised(
                new EncodedExample("x", auto.preview().get(2).inputIds(), auto.preview().get(2).labels(), false)), false));
    }

    static EncodedExample single(List<EncodedExample> seqs) {
        assertEquals(1, seqs.size());
        return seqs.get(0);
    }
}
