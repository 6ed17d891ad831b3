package org.sft4j.template;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sft4j.format.Message;
import org.sft4j.testing.Shared;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The render context is transformers' own: which variables a template sees as defined, which as None and with which
 * values. Every expected text below was printed by transformers 5.17.0 {@code apply_chat_template} running the same
 * probe template (src/test/resources/org/sft4j/template/render_context_probe.py has the script and how it was run).
 */
class RenderContextTest {

    static final List<String> NAMES = List.of("messages", "tools", "documents", "add_generation_prompt", "bos_token",
            "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token", "additional_special_tokens",
            "extra_special_tokens", "enable_thinking", "continue_final_message", "return_assistant_tokens_mask", "tokenize",
            "chat_template", "foo");
    static final List<String> GLOBALS = List.of("raise_exception", "strftime_now", "namespace", "range", "dict", "lipsum",
            "cycler", "joiner");

    /** For each name: undefined, None, or its value as JSON; for each global: whether it is callable. */
    static final String PROBE = NAMES.stream().map(n -> String.format("{{ '%s=' }}{%% if %s is defined %%}{%% if %s is none %%}"
            + "None{%% else %%}{{ %s | tojson }}{%% endif %%}{%% else %%}undefined{%% endif %%}{{ '\\n' }}", n, n, n, n))
            .collect(Collectors.joining())
            + GLOBALS.stream().map(f -> String.format("{{ '%s=' }}{{ 'callable' if %s is callable else ('undefined' if %s is "
            + "not defined else 'other') }}{{ '\\n' }}", f, f, f)).collect(Collectors.joining());

    static final String GLOBALS_SEEN = """
            raise_exception=callable
            strftime_now=callable
            namespace=callable
            range=callable
            dict=callable
            lipsum=callable
            cycler=callable
            joiner=callable
            """;

    static String probe(String tokenizer, Map<String, Object> kwargs, boolean addGenerationPrompt) throws Exception {
        TokenizerConfig cfg = TokenizerConfig.read(Shared.tokenizer(tokenizer));
        ChatTemplate t = new ChatTemplate("probe", PROBE, cfg.specialTokens(), List.of(), Clock.systemUTC())
                .withTemplateKwargs(kwargs);
        return t.render(List.of(Message.user("hi")), addGenerationPrompt);
    }

    @Test
    void qwen3WithoutKwargs() throws Exception {
        assertEquals("""
                messages=[{"role": "user", "content": "hi"}]
                tools=None
                documents=None
                add_generation_prompt=false
                bos_token=undefined
                eos_token="<|im_end|>"
                unk_token=undefined
                sep_token=undefined
                pad_token="<|endoftext|>"
                cls_token=undefined
                mask_token=undefined
                additional_special_tokens=undefined
                extra_special_tokens=undefined
                enable_thinking=undefined
                continue_final_message=undefined
                return_assistant_tokens_mask=undefined
                tokenize=undefined
                chat_template=undefined
                foo=undefined
                """ + GLOBALS_SEEN, probe("qwen3-hybrid", Map.of(), false));
    }

    @Test
    void templateKwargsAreDefinedAndWinOverSpecialTokens() throws Exception {
        Map<String, Object> kwargs = new LinkedHashMap<>();
        kwargs.put("enable_thinking", false);
        kwargs.put("foo", "bar");
        kwargs.put("bos_token", "<B>");
        assertEquals("""
                messages=[{"role": "user", "content": "hi"}]
                tools=None
                documents=None
                add_generation_prompt=true
                bos_token="<B>"
                eos_token="<|im_end|>"
                unk_token=undefined
                sep_token=undefined
                pad_token="<|endoftext|>"
                cls_token=undefined
                mask_token=undefined
                additional_special_tokens=undefined
                extra_special_tokens=undefined
                enable_thinking=false
                continue_final_message=undefined
                return_assistant_tokens_mask=undefined
                tokenize=undefined
                chat_template=undefined
                foo="bar"
                """ + GLOBALS_SEEN, probe("qwen3-hybrid", kwargs, true));
    }

    /** The special-token lines of the probe for two more tokenizers (the other lines are as for Qwen3). */
    @Test
    void specialTokensOfOtherTokenizers() throws Exception {
        assertEquals("""
                bos_token="<|im_start|>"
                eos_token="<|im_end|>"
                unk_token="<|endoftext|>"
                sep_token=undefined
                pad_token="<|im_end|>"
                cls_token=undefined
                mask_token=undefined
                """, tokenLines(probe("smollm2-135m-instruct", Map.of(), false)));
        assertEquals("""
                bos_token="<s>"
                eos_token="</s>"
                unk_token="<unk>"
                sep_token=undefined
                pad_token=undefined
                cls_token=undefined
                mask_token=undefined
                """, tokenLines(probe("mistral-7b-instruct-v0.2", Map.of(), false)));
    }

    private static String tokenLines(String probe) {
        return probe.lines().filter(l -> TokenizerConfig.NAMED.contains(l.substring(0, l.indexOf('='))))
                .map(l -> l + "\n").collect(Collectors.joining());
    }

    static final String SHORT = "{{ 'bos=' ~ (bos_token if bos_token is defined else 'undefined') ~ ' eos=' ~ (eos_token if "
            + "eos_token is defined else 'undefined') ~ ' unk=' ~ (unk_token if unk_token is defined else 'undefined') ~ "
            + "' pad=' ~ (pad_token if pad_token is defined else 'undefined') ~ ' image=' ~ (image_token if image_token is "
            + "defined else 'undefined') ~ ' boi=' ~ (boi_token if boi_token is defined else 'undefined') }}";

    /** qwen3-hybrid's tokenizer_config.json with {@code edit} applied to its text. */
    static Path variant(Path tmp, String from, String to) throws Exception {
        String cfg = Files.readString(Shared.tokenizer("qwen3-hybrid").resolve("tokenizer_config.json"));
        Files.writeString(tmp.resolve("tokenizer_config.json"), cfg.replace(from, to));
        return tmp;
    }

    static String shortProbe(Path dir) throws Exception {
        TokenizerConfig cfg = TokenizerConfig.read(dir);
        return new ChatTemplate("probe", SHORT, cfg.specialTokens(), List.of(), Clock.systemUTC()).render(List.of(Message.user("hi")), false);
    }

    @Test
    void modelSpecificTokensAreDefined(@TempDir Path tmp) throws Exception {
        Path dir = variant(tmp, "\"add_bos_token\": false", "\"add_bos_token\": false, \"image_token\": \"<|image_pad|>\", "
                + "\"extra_special_tokens\": {\"boi_token\": \"<|vision_start|>\"}");
        assertEquals("bos=undefined eos=<|im_end|> unk=undefined pad=<|endoftext|> image=<|image_pad|> boi=<|vision_start|>",
                shortProbe(dir));
    }

    @Test
    void absentTokensTakeTheTokenizerClassDefaults(@TempDir Path tmp) throws Exception {
        String cfg = Files.readString(Shared.tokenizer("qwen3-hybrid").resolve("tokenizer_config.json"))
                .replaceAll("\\n\\s*\"(unk|bos|eos|pad)_token\": [^\\n]*", "");
        Files.writeString(tmp.resolve("tokenizer_config.json"), cfg);
        assertEquals("bos=undefined eos=<|endoftext|> unk=<|endoftext|> pad=<|endoftext|> image=undefined boi=undefined",
                shortProbe(tmp));
    }

    @Test
    void chatTemplateJinjaWinsOverTheConfigsTemplate(@TempDir Path tmp) throws Exception {
        variant(tmp, "\"add_bos_token\": false", "\"add_bos_token\": false, \"chat_template\": \"CONFIG\"");
        assertEquals("CONFIG", ChatTemplate.fromConfig(TokenizerConfig.read(tmp), Clock.systemUTC())
                .render(List.of(Message.user("hi")), false), "without a template file, the config's template");
        Files.writeString(tmp.resolve("chat_template.jinja"), "JINJA");
        assertEquals("JINJA", ChatTemplate.fromConfig(TokenizerConfig.read(tmp), Clock.systemUTC())
                .render(List.of(Message.user("hi")), false));
    }
}
