package org.sft4j.template;

import org.sft4j.format.Message;
import org.sft4j.jinja.Template;
import org.sft4j.jinja.TemplateException;

import java.time.Clock;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Turns a conversation into the text the model is trained on, as {@code tokenizer.apply_chat_template}
 * would: the model's own Jinja template, or one of the named templates for base models.
 *
 * <p>The render context is the one transformers 5.17 builds: the tokenizer's special tokens that are set
 * ({@code bos_token}, {@code eos_token}, ...), then the template kwargs ({@code enable_thinking}, ...; they win over a
 * special token of the same name), then {@code messages}, {@code tools} and {@code documents} (None: sft4j passes
 * neither) and {@code add_generation_prompt}. A variable outside it is undefined, so templates that test
 * {@code x is defined} take the branch they take under transformers.
 *
 * <p>Immutable: {@link #withTemplateKwargs} returns a copy.
 */
public final class ChatTemplate {

    private final String name;
    private final Template template;
    private final Map<String, String> specialTokens;
    private final List<String> endOfTurn;
    private final Map<String, Object> templateKwargs;

    public ChatTemplate(String name, String source, Map<String, String> specialTokens, List<String> endOfTurn, Clock clock) {
        this(name, compile(name, source, clock), specialTokens, endOfTurn, Map.of());
    }

    private ChatTemplate(String name, Template template, Map<String, String> specialTokens, List<String> endOfTurn,
                         Map<String, Object> templateKwargs) {
        this.name = name;
        this.template = template;
        this.specialTokens = Map.copyOf(specialTokens);
        this.endOfTurn = List.copyOf(endOfTurn);
        this.templateKwargs = Collections.unmodifiableMap(new LinkedHashMap<>(templateKwargs));
    }

    private static Template compile(String name, String source, Clock clock) {
        try {
            return Template.compile(source, clock);
        } catch (TemplateException e) {
            throw new TemplateException("chat template '" + name + "': " + e.getMessage(), 0);
        }
    }

    /** The template of a model directory's tokenizer_config.json (null when the model has none). */
    public static ChatTemplate fromConfig(TokenizerConfig cfg, Clock clock) {
        if (cfg.chatTemplate() == null) {
            return null;
        }
        List<String> eot = new ArrayList<>();
        if (cfg.eosToken() != null) {
            eot.add(cfg.eosToken());
        }
        for (String t : List.of("<|im_end|>", "<|eot_id|>", "<|end|>", "<end_of_turn>", "<|endoftext|>")) {
            if (cfg.chatTemplate().contains(t) && !eot.contains(t)) {
                eot.add(t);
            }
        }
        return new ChatTemplate("tokenizer_config", cfg.chatTemplate(), cfg.specialTokens(), eot, clock);
    }

    /**
     * A copy whose renders also receive {@code kwargs}, as {@code apply_chat_template(..., **kwargs)} passes them
     * (e.g. {@code enable_thinking}); they replace any kwargs this template had.
     */
    public ChatTemplate withTemplateKwargs(Map<String, ?> kwargs) {
        return new ChatTemplate(name, template, specialTokens, endOfTurn, new LinkedHashMap<>(kwargs));
    }

    /** The template kwargs every render receives. */
    public Map<String, Object> templateKwargs() {
        return templateKwargs;
    }

    public String name() {
        return name;
    }

    /** Strings that end an assistant turn (eos, end-of-turn markers): generation stops on them. */
    public List<String> endOfTurnTokens() {
        return endOfTurn;
    }

    public String render(List<Message> messages, boolean addGenerationPrompt) {
        return renderWithSpans(messages, addGenerationPrompt).text();
    }

    public Template.Rendered renderWithSpans(List<Message> messages, boolean addGenerationPrompt) {
        try {
            return template.renderWithSpans(context(messages, addGenerationPrompt));
        } catch (TemplateException e) {
            throw new TemplateException("chat template '" + name + "': " + e.getMessage(), 0);
        }
    }

    /** transformers' {@code render(messages=, tools=, documents=, add_generation_prompt=, **special_tokens, **kwargs)}. */
    Map<String, Object> context(List<Message> messages, boolean addGenerationPrompt) {
        Map<String, Object> vars = new HashMap<>(specialTokens);
        vars.putAll(templateKwargs);
        List<Object> msgs = new ArrayList<>();
        for (Message m : messages) {
            msgs.add(m.toTemplateValue());
        }
        vars.put("messages", msgs);
        vars.put("tools", null);
        vars.put("documents", null);
        vars.put("add_generation_prompt", addGenerationPrompt);
        return vars;
    }
}
