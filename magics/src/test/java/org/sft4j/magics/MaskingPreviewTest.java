package org.sft4j.magics;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.sft4j.config.EnableThinking;
import org.sft4j.data.DataPipeline;
import org.sft4j.format.Example;
import org.sft4j.format.Message;
import org.sft4j.template.ChatTemplate;
import org.sft4j.template.TokenizerConfig;
import org.sft4j.testing.Shared;
import org.sft4j.tokenize.EncodedExample;
import org.sft4j.tokenize.SftEncoder;
import org.sft4j.tokenize.Tokenizer;

import java.time.Clock;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The masking preview shows a Qwen3 think block and whether enable_thinking trains it. */
class MaskingPreviewTest {

    private static Tokenizer tok;

    @BeforeAll
    static void load() throws Exception {
        tok = Tokenizer.load(Shared.tokenizer("qwen3-hybrid"));
    }

    @AfterAll
    static void close() {
        tok.close();
    }

    static DataPipeline.Preview preview(EnableThinking thinking) throws Exception {
        TokenizerConfig cfg = TokenizerConfig.read(Shared.tokenizer("qwen3-hybrid"));
        SftEncoder enc = SftEncoder.of(ChatTemplate.fromConfig(cfg, Clock.systemUTC()), tok, cfg, false, false, thinking);
        SftEncoder.Rendered r = enc.render(new Example("ex", List.of(Message.user("Hi"), Message.assistant("Hello")), "t", "")).get(0);
        EncodedExample e = enc.encode("ex", r, tok.encode(r.text()));
        return new DataPipeline.Preview("ex", r.text(), e.inputIds(), e.labels());
    }

    /** The style of the preview's span for the token shown as {@code text}. */
    static String styleOf(String html, String text) {
        Matcher m = Pattern.compile("<span title=\"id \\d+, label [^\"]*\" style=\"([^\"]*)\">" + Pattern.quote(text) + "</span>")
                .matcher(html);
        assertTrue(m.find(), text + " in " + html);
        return m.group(1);
    }

    @Test
    void theEmptyThinkBlockIsGreenWithThinkingOnAndGreyWithItOff() throws Exception {
        String on = MaskingPreview.html(List.of(preview(EnableThinking.TRUE)), tok, 1, 200);
        assertTrue(on.contains(">think block</span>"), "the legend names it");
        for (String t : List.of("&lt;think&gt;", "&lt;/think&gt;")) {
            assertTrue(styleOf(on, t).startsWith("background:#c8f7c5;"), t + " is supervised with enable_thinking: true");
            assertTrue(styleOf(on, t).contains("border-bottom:2px solid #8e44ad;"), t + " is marked as the think block");
        }
        assertTrue(!styleOf(on, "Hello").contains("#8e44ad"), "the answer after </think> is not in the block");
        String off = MaskingPreview.html(List.of(preview(EnableThinking.FALSE)), tok, 1, 200);
        assertTrue(styleOf(off, "&lt;think&gt;").startsWith("background:#e6e6e6;"), "prompt with enable_thinking: false");
        assertTrue(styleOf(off, "Hello").startsWith("background:#c8f7c5;"));
    }

    @Test
    void thinkBlockSpansFromOpenToClose() throws Exception {
        int[] ids = tok.ids("a<think>\nx\n</think>\n\nb");
        boolean[] in = MaskingPreview.thinkBlock(ids, tok);
        StringBuilder marked = new StringBuilder();
        for (int t = 0; t < ids.length; t++) {
            marked.append(in[t] ? "[" + tok.tokenText(ids[t]) + "]" : tok.tokenText(ids[t]));
        }
        assertEquals("a[<think>][\n][x][\n][</think>]\n\nb", marked.toString());
    }
}
