package org.sft4j.template;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What sft4j needs from a model's {@code tokenizer_config.json}: the chat template and the special
 * tokens transformers passes to it ({@code bos_token}, {@code eos_token}, ...).
 *
 * @param dir the model/tokenizer directory
 * @param chatTemplate the Jinja source, or null when the model has none (base models)
 * @param specialTokens {@code bos_token}, {@code eos_token}, {@code unk_token}, {@code pad_token} as strings
 * @param addBosToken whether the tokenizer itself prepends BOS ({@code add_bos_token})
 */
public record TokenizerConfig(Path dir, String chatTemplate, Map<String, String> specialTokens, boolean addBosToken) {

    private static final ObjectMapper JSON = new ObjectMapper();

    /** Reads {@code dir/tokenizer_config.json} and, if present, {@code dir/chat_template.jinja}. */
    public static TokenizerConfig read(Path dir) throws IOException {
        Path f = dir.resolve("tokenizer_config.json");
        JsonNode n = Files.exists(f) ? org.sft4j.base.JsonFiles.read(f) : JSON.createObjectNode();
        String template = null;
        Path jinja = dir.resolve("chat_template.jinja");
        if (Files.exists(jinja)) {
            template = Files.readString(jinja);
        } else if (n.path("chat_template").isTextual()) {
            template = n.get("chat_template").asText();
        } else if (n.path("chat_template").isArray()) {
            // the named-template form: [{"name": "default", "template": ...}, {"name": "tool_use", ...}]
            for (JsonNode t : n.get("chat_template")) {
                if (t.path("name").asText().equals("default")) {
                    template = t.path("template").asText();
                }
            }
        }
        Map<String, String> special = new LinkedHashMap<>();
        for (String key : List.of("bos_token", "eos_token", "unk_token", "pad_token")) {
            String v = tokenString(n.get(key));
            if (v != null) {
                special.put(key, v);
            }
        }
        return new TokenizerConfig(dir, template, special, n.path("add_bos_token").asBoolean(false));
    }

    /** A token given as a string or as an AddedToken dict {@code {"content": ...}}. */
    static String tokenString(JsonNode n) {
        if (n == null || n.isNull() || n.isMissingNode()) {
            return null;
        }
        return n.isTextual() ? n.asText() : n.path("content").isTextual() ? n.get("content").asText() : null;
    }

    public String bosToken() {
        return specialTokens.get("bos_token");
    }

    public String eosToken() {
        return specialTokens.get("eos_token");
    }

    /** The additional special tokens listed in the config, if any. */
    public static List<String> additional(JsonNode n) {
        List<String> r = new ArrayList<>();
        n.path("additional_special_tokens").forEach(t -> r.add(tokenString(t)));
        return r;
    }
}
