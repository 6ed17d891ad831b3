package org.sft4j.template;

import org.sft4j.format.Message;
import org.sft4j.jinja.Template;
import org.sft4j.jinja.TemplateException;

import java.time.Clock;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Turns a conversation into the text the model is trained on, as {@code tokenizer.apply_chat_template}
 * would: the model's own Jinja template, or one of the named templates for base models.
 */
public final class ChatTemplate {

    private final String name;
    private final Template template;
    private final Map<String, String> specialTokens;
    private final List<String> endOfTurn;

    public ChatTemplate(String name, String source, Map<String, String> specialTokens, List<String> endOfTurn, Clock clock) {
        this.name = name;
        try {
            this.template = Template.compile(source, clock);
        } catch (TemplateException e) {
            throw new TemplateException("chat template '" + name + "': " + e.getMessage(), 0);
        }
        this.specialTokens = Map.copyOf(specialTokens);
        this.endOfTurn = List.copyOf(endOfTurn);
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
        Map<String, Object> vars = new HashMap<>(specialTokens);
        List<Object> msgs = new ArrayList<>();
        for (Message m : messages) {
            msgs.add(m.toTemplateValue());
        }
        vars.put("messages", msgs);
        vars.put("add_generation_prompt", addGenerationPrompt);
        try {
            return template.renderWithSpans(vars);
        } catch (TemplateException e) {
            throw new TemplateException("chat template '" + name + "': " + e.getMessage(), 0);
        }
    }
}
