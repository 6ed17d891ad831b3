package org.sft4j.template;

import org.sft4j.base.UserError;

import java.time.Clock;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Named templates for base models (those without a {@code chat_template}), as LLaMA-Factory names them.
 * They are Jinja sources rendered by the same engine as the models' own templates, and each ends the
 * assistant turn with an end token, so a fine-tuned base model learns to stop.
 */
public final class NamedTemplates {

    private static final Map<String, String> SOURCES = new LinkedHashMap<>();
    private static final Map<String, List<String>> END_TOKENS = new LinkedHashMap<>();
    private static final Map<String, Map<String, String>> TOKENS = new LinkedHashMap<>();

    static {
        String chatmlBody = "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] "
                + "+ '<|im_end|>' + '\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";
        // LLaMA-Factory's chatml: no default system prompt
        register("chatml", chatmlBody, List.of("<|im_end|>"), Map.of());
        // Qwen2.5's template without tools: chatml with its default system prompt
        register("qwen", "{% if messages[0]['role'] != 'system' %}{{ '<|im_start|>system\\nYou are Qwen, created by Alibaba "
                + "Cloud. You are a helpful assistant.<|im_end|>\\n' }}{% endif %}" + chatmlBody, List.of("<|im_end|>"), Map.of());
        register("llama3", "{{ bos_token }}{% for message in messages %}{{ '<|start_header_id|>' + message['role'] "
                + "+ '<|end_header_id|>\\n\\n' + message['content'] | trim + '<|eot_id|>' }}{% endfor %}{% if add_generation_prompt %}"
                + "{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}", List.of("<|eot_id|>"),
                Map.of("bos_token", "<|begin_of_text|>"));
        // Mistral-Instruct v0.2 with a system prompt folded into the first user turn
        register("mistral", "{{ bos_token }}{% for message in messages %}{% if message['role'] == 'system' %}"
                + "{% elif message['role'] == 'user' %}{{ '[INST] ' + (messages[0]['content'] + '\\n\\n' "
                + "if loop.index0 == 1 and messages[0]['role'] == 'system' else '') + message['content'] + ' [/INST]' }}"
                + "{% elif message['role'] == 'assistant' %}{{ message['content'] + eos_token }}{% endif %}{% endfor %}",
                List.of("</s>"), Map.of("bos_token", "<s>", "eos_token", "</s>"));
        register("alpaca", "{% if messages[0]['role'] == 'system' %}{{ messages[0]['content'] + '\\n\\n' }}{% else %}"
                + "{{ 'Below is an instruction that describes a task. Write a response that appropriately completes the "
                + "request.\\n\\n' }}{% endif %}{% for message in messages %}{% if message['role'] == 'user' %}"
                + "{{ '### Instruction:\\n' + message['content'] + '\\n\\n### Response:\\n' }}{% elif message['role'] == "
                + "'assistant' %}{{ message['content'] + eos_token + '\\n\\n' }}{% endif %}{% endfor %}", List.of(), Map.of());
        // base-model completion: the prompt, a space, the answer and EOS (the translation recipe on base models)
        register("plain", "{% for message in messages %}{% if message['role'] == 'assistant' %}{{ ' ' + message['content'] "
                + "+ eos_token }}{% elif message['role'] == 'user' %}{{ message['content'] }}{% endif %}{% endfor %}",
                List.of(), Map.of());
    }

    private NamedTemplates() {}

    private static void register(String name, String source, List<String> ends, Map<String, String> tokens) {
        SOURCES.put(name, source);
        END_TOKENS.put(name, ends);
        TOKENS.put(name, tokens);
    }

    public static List<String> names() {
        return List.copyOf(SOURCES.keySet());
    }

    /**
     * The named template, with the model's special tokens where the template does not fix them
     * ({@code eos_token} of alpaca/plain is the model's own).
     */
    public static ChatTemplate get(String name, TokenizerConfig model, Clock clock) {
        String source = SOURCES.get(name.equals("qwen2.5") ? "qwen" : name.equals("default") ? "plain" : name);
        if (source == null) {
            throw new UserError("unknown template '" + name + "'; named templates: " + names()
                    + ", or leave template unset to use the model's own chat_template");
        }
        String key = name.equals("qwen2.5") ? "qwen" : name.equals("default") ? "plain" : name;
        Map<String, String> tokens = new LinkedHashMap<>(model.specialTokens());
        tokens.putAll(TOKENS.get(key));
        List<String> ends = new java.util.ArrayList<>(END_TOKENS.get(key));
        if (tokens.get("eos_token") != null && !ends.contains(tokens.get("eos_token"))) {
            ends.add(tokens.get("eos_token"));
        }
        return new ChatTemplate(key, source, tokens, ends, clock);
    }

    /**
     * The template a config asks for: a custom Jinja template ({@code chat_template}, inline or a .jinja file),
     * a named one, or the model's own; an error when there is none. Its renders receive the config's template
     * kwargs ({@code enable_thinking}; none under {@code auto}, where the encoder chooses per example).
     */
    public static ChatTemplate resolve(org.sft4j.config.ModelArgs args, TokenizerConfig model, Clock clock)
            throws java.io.IOException {
        return template(args, model, clock).withTemplateKwargs(templateKwargs(args));
    }

    /** The kwargs {@code apply_chat_template} would be called with for this config. */
    public static Map<String, Object> templateKwargs(org.sft4j.config.ModelArgs args) {
        Map<String, Object> kwargs = new LinkedHashMap<>();
        args.enableThinking().templateKwarg().ifPresent(v -> kwargs.put("enable_thinking", v));
        return kwargs;
    }

    private static ChatTemplate template(org.sft4j.config.ModelArgs args, TokenizerConfig model, Clock clock)
            throws java.io.IOException {
        String custom = args.chatTemplate();
        if (custom != null && !custom.isBlank()) {
            java.nio.file.Path p = custom.endsWith(".jinja") ? java.nio.file.Path.of(custom) : null;
            String source = p != null ? java.nio.file.Files.readString(p) : custom;
            List<String> ends = model.eosToken() == null ? List.of() : List.of(model.eosToken());
            return new ChatTemplate(p != null ? p.getFileName().toString() : "custom", source, model.specialTokens(), ends, clock);
        }
        return resolve(args.template(), model, clock);
    }

    /** The template a config asks for: the named one, or the model's own; an error when there is neither. */
    public static ChatTemplate resolve(String name, TokenizerConfig model, Clock clock) {
        if (name != null && !name.isBlank() && !name.equals("auto")) {
            return get(name, model, clock);
        }
        ChatTemplate own = ChatTemplate.fromConfig(model, clock);
        if (own == null && !model.namedTemplates().isEmpty()) {
            throw new UserError(model.dir() + " has only named chat templates " + model.namedTemplates().keySet()
                    + " and no default (chat_template.jinja): set chat_template to the .jinja file to use");
        }
        if (own == null) {
            throw new UserError(model.dir() + " has no chat_template (a base model?): set template to one of "
                    + names());
        }
        return own;
    }
}
