package org.sft4j.template;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * What sft4j needs from a model's {@code tokenizer_config.json}, read as transformers 5 reads it: the chat
 * template and the special tokens transformers passes to it ({@code bos_token}, {@code eos_token}, ...).
 *
 * <p>Template files beside the config win over its {@code chat_template} entry, as in transformers 5:
 * {@code chat_template.jinja} is the default template and {@code additional_chat_templates/NAME.jinja} named
 * ones; only when neither exists is the config's {@code chat_template} (a string, or a list of named
 * templates) used.
 *
 * @param dir the model/tokenizer directory
 * @param chatTemplate the default Jinja source, or null when the model has none (base models)
 * @param specialTokens transformers' {@code special_tokens_map}: the named special tokens that are set, as strings
 * @param addBosToken whether the tokenizer itself prepends BOS ({@code add_bos_token})
 * @param namedTemplates templates other than the default ({@code tool_use}, ...), by name
 */
public record TokenizerConfig(Path dir, String chatTemplate, Map<String, String> specialTokens, boolean addBosToken,
                              Map<String, String> namedTemplates) {

    private static final ObjectMapper JSON = new ObjectMapper();

    /** transformers' {@code SPECIAL_TOKENS_ATTRIBUTES}: the named tokens a template receives when they are set. */
    static final List<String> NAMED = List.of("bos_token", "eos_token", "unk_token", "sep_token", "pad_token",
            "cls_token", "mask_token");

    /** The defaults of transformers 5.17's tokenizer classes, which apply when the config does not name a token. */
    private static final Map<String, Map<String, String>> CLASS_DEFAULTS = Map.of(
            "Qwen2Tokenizer", Map.of("unk_token", "<|endoftext|>", "eos_token", "<|endoftext|>", "pad_token", "<|endoftext|>"),
            "GPT2Tokenizer", Map.of("unk_token", "<|endoftext|>", "bos_token", "<|endoftext|>", "eos_token", "<|endoftext|>"),
            "LlamaTokenizer", Map.of("unk_token", "<unk>", "bos_token", "<s>", "eos_token", "</s>"),
            "GemmaTokenizer", Map.of("unk_token", "<unk>", "bos_token", "<bos>", "eos_token", "<eos>", "pad_token", "<pad>",
                    "mask_token", "<mask>"));

    public TokenizerConfig {
        specialTokens = Map.copyOf(specialTokens);
        namedTemplates = Map.copyOf(namedTemplates);
    }

    /** Reads {@code dir/tokenizer_config.json} and the template files beside it. */
    public static TokenizerConfig read(Path dir) throws IOException {
        Path f = dir.resolve("tokenizer_config.json");
        JsonNode n = Files.exists(f) ? json(f) : JSON.createObjectNode();
        Map<String, String> templates = templateFiles(dir);
        if (templates.isEmpty()) {
            templates = configTemplates(n);
        }
        String template = templates.remove("default");
        return new TokenizerConfig(dir, template, specialTokens(dir, n), n.path("add_bos_token").asBoolean(false), templates);
    }

    /** {@code chat_template.jinja} as "default" and {@code additional_chat_templates/*.jinja} by file name. */
    private static Map<String, String> templateFiles(Path dir) throws IOException {
        Map<String, String> t = new LinkedHashMap<>();
        if (Files.isRegularFile(dir.resolve("chat_template.jinja"))) {
            t.put("default", Files.readString(dir.resolve("chat_template.jinja")));
        }
        Path extra = dir.resolve("additional_chat_templates");
        if (Files.isDirectory(extra)) {
            try (Stream<Path> files = Files.list(extra)) {
                for (Path p : files.filter(p -> p.getFileName().toString().endsWith(".jinja")).sorted().toList()) {
                    String name = p.getFileName().toString();
                    t.put(name.substring(0, name.length() - ".jinja".length()), Files.readString(p));
                }
            }
        }
        return t;
    }

    /** The config's {@code chat_template}: a string, or the named form {@code [{"name": ..., "template": ...}]}. */
    private static Map<String, String> configTemplates(JsonNode n) {
        Map<String, String> t = new LinkedHashMap<>();
        JsonNode ct = n.path("chat_template");
        if (ct.isTextual()) {
            t.put("default", ct.asText());
        } else if (ct.isArray()) {
            for (JsonNode e : ct) {
                t.put(e.path("name").asText(), e.path("template").asText());
            }
        }
        return t;
    }

    /**
     * transformers 5's {@code special_tokens_map}: the named tokens that are set, then model-specific ones (any other
     * {@code *_token} string key, and a dict {@code extra_special_tokens}); the class's defaults for names the config
     * leaves out; the legacy {@code special_tokens_map.json} only when the config has no {@code added_tokens_decoder}.
     */
    private static Map<String, String> specialTokens(Path dir, JsonNode n) throws IOException {
        Map<String, JsonNode> given = new LinkedHashMap<>();
        n.fields().forEachRemaining(e -> given.put(e.getKey(), e.getValue()));
        Path legacy = dir.resolve("special_tokens_map.json");
        if (!n.has("added_tokens_decoder") && Files.exists(legacy)) {
            json(legacy).fields().forEachRemaining(e -> given.put(e.getKey(), e.getValue()));
        }
        Map<String, String> special = new LinkedHashMap<>();
        Map<String, String> defaults = CLASS_DEFAULTS.getOrDefault(n.path("tokenizer_class").asText("")
                .replaceFirst("Fast$", ""), Map.of());
        for (String key : NAMED) {
            String v = given.containsKey(key) ? tokenString(given.get(key)) : defaults.get(key);
            if (v != null) {
                special.put(key, v);
            }
        }
        for (Map.Entry<String, JsonNode> e : given.entrySet()) {
            if (e.getKey().endsWith("_token") && !NAMED.contains(e.getKey()) && tokenString(e.getValue()) != null) {
                special.put(e.getKey(), tokenString(e.getValue()));
            }
        }
        JsonNode extra = given.get("extra_special_tokens");
        if (extra != null && extra.isObject()) {
            for (Iterator<Map.Entry<String, JsonNode>> it = extra.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                if (tokenString(e.getValue()) != null) {
                    special.put(e.getKey(), tokenString(e.getValue()));
                }
            }
        }
        return special;
    }

    /** A token given as a string or as an AddedToken dict {@code {"content": ...}}. */
    static String tokenString(JsonNode n) {
        if (n == null || n.isNull() || n.isMissingNode()) {
            return null;
        }
        return n.isTextual() ? n.asText() : n.path("content").isTextual() ? n.get("content").asText() : null;
    }

    /** Parses a tokenizer JSON file; a syntax error names the file and line, not the parser's internals. */
    public static JsonNode json(Path f) throws IOException {
        return org.sft4j.base.JsonFiles.read(f);
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
