package org.sft4j.data;

import com.fasterxml.jackson.databind.JsonNode;
import org.sft4j.base.UserError;
import org.sft4j.config.DataArgs;
import org.sft4j.format.AlpacaFormat;
import org.sft4j.format.ExampleFormat;
import org.sft4j.format.SharegptFormat;
import org.sft4j.format.TranslationFormat;
import org.sft4j.read.DataException;
import org.sft4j.read.Row;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One dataset as the user named it, resolved: a name in LLaMA-Factory's {@code dataset_info.json}, a file
 * or folder, a hub URI, or two parallel text files written {@code train.{en,de}.gz} (source first).
 *
 * @param name as given
 * @param location the file, folder or URI to read
 * @param parallelTarget for parallel text, the target file (location is the source file)
 * @param formatting explicit formatting, or {@code auto}
 * @param columns LLaMA-Factory column mapping (may be empty)
 * @param tags LLaMA-Factory sharegpt tag mapping (may be empty)
 * @param srcLang source language code for translation, from braces or config
 * @param tgtLang target language code
 */
public record DatasetSpec(String name, String location, String parallelTarget, String formatting,
                          Map<String, String> columns, Map<String, String> tags, String srcLang, String tgtLang) {

    private static final Pattern BRACES = Pattern.compile("^(.*)\\{([^,{}]+),([^,{}]+)}(.*)$");

    /** Resolves {@code entry} against {@code dataset_dir} (and its dataset_info.json, when it has one). */
    public static DatasetSpec resolve(String entry, DataArgs args) throws IOException {
        Path dir = Path.of(args.datasetDir());
        Path info = dir.resolve("dataset_info.json");
        boolean bareName = !entry.contains("/") && !entry.contains("{") && !entry.contains("://");
        if (Files.exists(info) && bareName) {
            JsonNode all = org.sft4j.base.JsonFiles.read(info);
            JsonNode e = all.get(entry);
            if (e != null) {
                return fromInfo(entry, e, dir, args, info);
            }
            if (!Files.exists(Path.of(entry)) && !Files.exists(dir.resolve(entry))) {
                List<String> names = new ArrayList<>();
                all.fieldNames().forEachRemaining(names::add);
                throw new UserError("dataset '" + entry + "' is neither a name in " + info + " (it has: "
                        + String.join(", ", names) + ") nor a file or folder in " + dir);
            }
        }
        if (bareName && !Files.exists(info) && !Files.exists(Path.of(entry)) && !Files.exists(dir.resolve(entry))) {
            throw new UserError("dataset '" + entry + "': no such file or folder here or in dataset_dir "
                    + dir + ", which has no dataset_info.json to name it");
        }
        Matcher m = BRACES.matcher(entry);
        if (m.matches()) {
            String src = m.group(1) + m.group(2) + m.group(4);
            String tgt = m.group(1) + m.group(3) + m.group(4);
            return new DatasetSpec(entry, local(src, dir), local(tgt, dir), "translation", Map.of(), Map.of(),
                    args.srcLang() != null ? args.srcLang() : m.group(2), args.tgtLang() != null ? args.tgtLang() : m.group(3));
        }
        return new DatasetSpec(entry, local(entry, dir), null, args.formatting(), Map.of(), Map.of(), args.srcLang(),
                args.tgtLang());
    }

    private static String local(String p, Path dir) {
        if (p.startsWith("hf://") || p.startsWith("hg://")) {
            return p;
        }
        Path path = Path.of(p);
        if (!path.isAbsolute() && !Files.exists(path) && Files.exists(dir.resolve(p))) {
            return dir.resolve(p).toString();
        }
        return p;
    }

    private static DatasetSpec fromInfo(String name, JsonNode e, Path dir, DataArgs args, Path info) {
        String location;
        if (e.hasNonNull("file_name")) {
            location = dir.resolve(e.get("file_name").asText()).toString();
        } else if (e.hasNonNull("hf_hub_url")) {
            location = "hf://datasets/" + e.get("hf_hub_url").asText();
        } else {
            throw new DataException(info.toString(), "dataset '" + name + "' has neither file_name nor hf_hub_url "
                    + "(script_url and ms_hub_url are not supported)");
        }
        if (e.path("ranking").asBoolean(false)) {
            throw new DataException(info.toString(), "dataset '" + name + "' is a ranking (preference) dataset; sft4j does SFT");
        }
        Map<String, String> columns = new HashMap<>();
        e.path("columns").fields().forEachRemaining(c -> columns.put(c.getKey(), c.getValue().asText()));
        Map<String, String> tags = new HashMap<>();
        e.path("tags").fields().forEachRemaining(c -> tags.put(c.getKey(), c.getValue().asText()));
        return new DatasetSpec(name, location, null, e.path("formatting").asText("alpaca"), columns, tags,
                args.srcLang(), args.tgtLang());
    }

    /** The format to read this dataset with; {@code auto} looks at the first row's columns. */
    public ExampleFormat format(Row first, DataArgs args) {
        String f = formatting;
        if (f.equals("auto")) {
            f = detect(first);
        }
        return switch (f) {
            case "alpaca" -> columns.isEmpty() ? AlpacaFormat.alpaca() : new AlpacaFormat("alpaca",
                    columns.getOrDefault("prompt", "instruction"), columns.getOrDefault("query", columns.containsKey("prompt") ? null : "input"),
                    columns.getOrDefault("response", "output"), columns.getOrDefault("system", "system"),
                    columns.getOrDefault("history", "history"));
            case "prompt_response" -> AlpacaFormat.promptResponse();
            case "src_tgt" -> AlpacaFormat.srcTgt();
            case "sharegpt" -> tags.isEmpty() && !columns.containsKey("messages") ? SharegptFormat.sharegpt() : sharegpt();
            case "openai" -> SharegptFormat.openai();
            case "chat" -> new SharegptFormat("chat", "chat", null, "role", "content",
                    Map.of("user", "user", "assistant", "assistant", "system", "system"));
            case "translation" -> new TranslationFormat(columns.getOrDefault("source", "source"),
                    columns.getOrDefault("target", "target"), first != null && first.value().has("lp") ? "lp"
                    : first != null && first.value().has("lang_pair") ? "lang_pair" : null, srcLang, tgtLang,
                    args.translationTemplate(), args.bidirectional());
            default -> throw new DataException(location, "unknown formatting '" + f + "'; use alpaca, sharegpt, openai, "
                    + "prompt_response, src_tgt, chat or translation");
        };
    }

    private SharegptFormat sharegpt() {
        Map<String, String> roles = new HashMap<>();
        roles.put(tags.getOrDefault("user_tag", "human"), "user");
        roles.put(tags.getOrDefault("assistant_tag", "gpt"), "assistant");
        roles.put(tags.getOrDefault("system_tag", "system"), "system");
        roles.put(tags.getOrDefault("observation_tag", "observation"), "tool");
        return new SharegptFormat("sharegpt", columns.getOrDefault("messages", "conversations"),
                columns.getOrDefault("system", "system"), tags.getOrDefault("role_tag", "from"),
                tags.getOrDefault("content_tag", "value"), roles);
    }

    /** Guesses the formatting from column names. */
    static String detect(Row r) {
        if (r == null) {
            return "alpaca";
        }
        JsonNode v = r.value();
        if (v.has("conversations")) {
            return "sharegpt";
        }
        if (v.has("messages")) {
            return "openai";
        }
        if (v.has("chat")) {
            return "chat";
        }
        if (v.has("instruction") && v.has("output")) {
            return "alpaca";
        }
        if (v.has("prompt") && v.has("response")) {
            return "prompt_response";
        }
        if (v.has("src") && v.has("tgt")) {
            return "src_tgt";
        }
        if (v.has("source") && v.has("target")) {
            return "translation";
        }
        List<String> cols = new ArrayList<>();
        v.fieldNames().forEachRemaining(cols::add);
        throw new DataException(r.location(), "cannot tell the dataset's format from its columns " + cols
                + "; set formatting (alpaca, sharegpt, openai, prompt_response, src_tgt, translation) or map the "
                + "columns in dataset_info.json");
    }
}
