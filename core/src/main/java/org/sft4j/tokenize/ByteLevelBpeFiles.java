package org.sft4j.tokenize;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.sft4j.template.TokenizerConfig;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The fast tokenizer of a directory that has {@code vocab.json} + {@code merges.txt} but no {@code tokenizer.json}
 * (Qwen's Hub layout), built as transformers 5.17's {@code Qwen2Tokenizer.__init__} builds it: byte-level BPE
 * without an unknown token, NFC normalization, its pre-tokenizer regex split then byte-level mapping, a byte-level
 * decoder, and the added tokens of {@code tokenizer_config.json}'s {@code added_tokens_decoder} with their ids.
 *
 * <p>Written here because DJL's tokenizer only loads a {@code tokenizer.json} (its vocab+merges constructor leaves
 * out the normalizer and pre-tokenizer); the document built here goes to the same Rust library.
 */
final class ByteLevelBpeFiles {

    /** {@code transformers/models/qwen2/tokenization_qwen2.py} PRETOKENIZE_REGEX. */
    static final String QWEN2_PRETOKENIZE_REGEX = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}|"
            + " ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

    /** Model types whose tokenizer transformers resolves to Qwen2Tokenizer when the config names no class. */
    private static final Set<String> QWEN_MODEL_TYPES = Set.of("qwen2", "qwen2_moe", "qwen3", "qwen3_moe");

    private static final ObjectMapper JSON = new ObjectMapper();

    private ByteLevelBpeFiles() {}

    static boolean present(Path dir) {
        return Files.isRegularFile(dir.resolve("vocab.json")) && Files.isRegularFile(dir.resolve("merges.txt"));
    }

    /** The tokenizer.json document transformers would build for {@code dir}. */
    static byte[] tokenizerJson(Path dir) throws IOException {
        Path cfgFile = dir.resolve("tokenizer_config.json");
        JsonNode cfg = Files.exists(cfgFile) ? TokenizerConfig.json(cfgFile) : JSON.createObjectNode();
        checkClass(dir, cfg);
        JsonNode vocab = TokenizerConfig.json(dir.resolve("vocab.json"));
        if (!vocab.isObject()) {
            throw new IOException(dir.resolve("vocab.json") + ": expected an object of token -> id");
        }
        ObjectNode root = JSON.createObjectNode();
        root.put("version", "1.0");
        root.putNull("truncation");
        root.putNull("padding");
        root.set("added_tokens", addedTokens(cfg, vocab));
        root.putObject("normalizer").put("type", "NFC");
        ObjectNode pre = root.putObject("pre_tokenizer");
        pre.put("type", "Sequence");
        ArrayNode steps = pre.putArray("pretokenizers");
        ObjectNode split = steps.addObject();
        split.put("type", "Split");
        split.putObject("pattern").put("Regex", QWEN2_PRETOKENIZE_REGEX);
        split.put("behavior", "Isolated");
        split.put("invert", false);
        ObjectNode byteLevel = steps.addObject();
        byteLevel.put("type", "ByteLevel");
        byteLevel.put("add_prefix_space", cfg.path("add_prefix_space").asBoolean(false));
        byteLevel.put("trim_offsets", true);
        byteLevel.put("use_regex", false);
        root.putNull("post_processor");
        ObjectNode decoder = root.putObject("decoder");
        decoder.put("type", "ByteLevel");
        decoder.put("add_prefix_space", true);
        decoder.put("trim_offsets", true);
        decoder.put("use_regex", true);
        ObjectNode model = root.putObject("model");
        model.put("type", "BPE");
        model.putNull("dropout");
        model.putNull("unk_token");
        model.put("continuing_subword_prefix", "");
        model.put("end_of_word_suffix", "");
        model.put("fuse_unk", false);
        model.put("byte_fallback", false);
        model.put("ignore_merges", false);
        model.set("vocab", vocab);
        model.set("merges", merges(dir.resolve("merges.txt")));
        return JSON.writeValueAsBytes(root);
    }

    private static void checkClass(Path dir, JsonNode cfg) throws IOException {
        String cls = cfg.path("tokenizer_class").asText("").replaceFirst("Fast$", "");
        if (cls.equals("Qwen2Tokenizer")) {
            return;
        }
        if (cls.isEmpty() && Files.exists(dir.resolve("config.json"))
                && QWEN_MODEL_TYPES.contains(TokenizerConfig.json(dir.resolve("config.json")).path("model_type").asText())) {
            return;
        }
        throw new IOException(dir + " has no tokenizer.json, and sft4j builds one from vocab.json + merges.txt only for "
                + "Qwen2Tokenizer (Qwen2.5, Qwen3), not for tokenizer_class '" + (cls.isEmpty() ? "(none)" : cls)
                + "': save the tokenizer with transformers (tokenizer.save_pretrained) to get a tokenizer.json");
    }

    /**
     * {@code added_tokens_decoder} in id order, then any special token the config names that is not among them (as
     * transformers adds {@code all_special_tokens}): with its vocabulary id, or the next free id.
     */
    private static ArrayNode addedTokens(JsonNode cfg, JsonNode vocab) {
        Map<String, ObjectNode> byContent = new LinkedHashMap<>();
        List<Map.Entry<String, JsonNode>> decoder = new ArrayList<>();
        cfg.path("added_tokens_decoder").fields().forEachRemaining(decoder::add);
        decoder.sort((a, b) -> Integer.compare(Integer.parseInt(a.getKey()), Integer.parseInt(b.getKey())));
        int nextId = vocab.size();
        for (Map.Entry<String, JsonNode> e : decoder) {
            JsonNode t = e.getValue();
            int id = Integer.parseInt(e.getKey());
            byContent.put(t.path("content").asText(), token(id, t.path("content").asText(), t.path("single_word").asBoolean(false),
                    t.path("lstrip").asBoolean(false), t.path("rstrip").asBoolean(false), t.path("normalized").asBoolean(false),
                    t.path("special").asBoolean(false)));
            nextId = Math.max(nextId, id + 1);
        }
        for (String special : specialTokens(cfg)) {
            if (!byContent.containsKey(special)) {
                int id = vocab.has(special) ? vocab.get(special).asInt() : nextId++;
                byContent.put(special, token(id, special, false, false, false, false, true));
            }
        }
        ArrayNode out = JSON.createArrayNode();
        byContent.values().forEach(out::add);
        return out;
    }

    /** The named special tokens and {@code additional_special_tokens} of the config. */
    private static List<String> specialTokens(JsonNode cfg) {
        List<String> r = new ArrayList<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = cfg.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            String v = e.getValue().isTextual() ? e.getValue().asText() : e.getValue().path("content").asText(null);
            if (e.getKey().endsWith("_token") && v != null) {
                r.add(v);
            }
        }
        for (JsonNode t : cfg.path("additional_special_tokens")) {
            r.add(t.isTextual() ? t.asText() : t.path("content").asText());
        }
        return r;
    }

    private static ObjectNode token(int id, String content, boolean singleWord, boolean lstrip, boolean rstrip,
                                    boolean normalized, boolean special) {
        ObjectNode t = JSON.createObjectNode();
        t.put("id", id);
        t.put("content", content);
        t.put("single_word", singleWord);
        t.put("lstrip", lstrip);
        t.put("rstrip", rstrip);
        t.put("normalized", normalized);
        t.put("special", special);
        return t;
    }

    /** merges.txt as the Rust library reads it: {@code #version} lines skipped, every other line two tokens. */
    private static ArrayNode merges(Path f) throws IOException {
        ArrayNode out = JSON.createArrayNode();
        try (BufferedReader r = Files.newBufferedReader(f, StandardCharsets.UTF_8)) {
            int lineNo = 0;
            for (String line = r.readLine(); line != null; line = r.readLine()) {
                lineNo++;
                if (line.startsWith("#version")) {
                    continue;
                }
                String[] parts = line.split(" ", -1);
                if (parts.length != 2) {
                    throw new IOException(f + " line " + lineNo + ": a merge must be two tokens separated by one space, "
                            + "found '" + line + "'");
                }
                out.add(line);
            }
        }
        return out;
    }
}
