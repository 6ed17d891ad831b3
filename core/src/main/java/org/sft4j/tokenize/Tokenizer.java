package org.sft4j.tokenize;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.djl.huggingface.tokenizers.jni.CharSpan;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.sft4j.nd.Engines;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;

/**
 * A Hugging Face fast tokenizer ({@code tokenizer.json}, or one built from {@code vocab.json} + {@code merges.txt})
 * through DJL's Rust tokenizers, set up for SFT: no truncation,
 * no padding and no special tokens added behind the caller's back (DJL's defaults truncate silently to
 * 512). Templates put BOS/EOS in the text; special tokens in text are recognised as single tokens.
 */
public final class Tokenizer implements AutoCloseable {

    private final HuggingFaceTokenizer hf;
    private final Path file;
    private final List<Path> sources;
    private final Map<String, Integer> addedTokens;
    private final Map<Integer, String> addedById;

    private Tokenizer(HuggingFaceTokenizer hf, Path file, List<Path> sources, Map<String, Integer> addedTokens) {
        this.hf = hf;
        this.file = file;
        this.sources = List.copyOf(sources);
        this.addedTokens = addedTokens;
        this.addedById = new HashMap<>();
        addedTokens.forEach((k, v) -> addedById.put(v, k));
    }

    /**
     * Loads {@code dir/tokenizer.json} (or the file itself); a directory with only {@code vocab.json} +
     * {@code merges.txt} (Qwen's Hub layout) gets the fast tokenizer transformers builds from them.
     */
    public static Tokenizer load(Path dirOrFile) throws IOException {
        Path file = Files.isDirectory(dirOrFile) ? dirOrFile.resolve("tokenizer.json") : dirOrFile;
        byte[] json;
        List<Path> sources;
        if (Files.exists(file)) {
            json = Files.readAllBytes(file);
            sources = List.of(file);
        } else if (Files.isDirectory(dirOrFile) && ByteLevelBpeFiles.present(dirOrFile)) {
            json = ByteLevelBpeFiles.tokenizerJson(dirOrFile);
            sources = List.of(dirOrFile.resolve("vocab.json"), dirOrFile.resolve("merges.txt"),
                    dirOrFile.resolve("tokenizer_config.json"));
            file = dirOrFile.resolve("vocab.json");
        } else {
            throw new IOException(dirOrFile + " has no tokenizer: sft4j needs tokenizer.json, or vocab.json + merges.txt");
        }
        if (Files.exists(file)) {
            org.sft4j.base.JsonFiles.read(file);   // first: a broken file is named with its line and column
        }
        return fromJson(json, file, sources);
    }

    /** A tokenizer from a tokenizer.json document; {@code file} names it in reports, {@code sources} feed cache keys. */
    static Tokenizer fromJson(byte[] json, Path file, List<Path> sources) throws IOException {
        Engines.pytorch(); // sets the offline/telemetry switches the tokenizer library reads too
        Map<String, String> opts = Map.of("addSpecialTokens", "false", "truncation", "false", "padding", "false",
                "modelMaxLength", String.valueOf(Integer.MAX_VALUE));
        HuggingFaceTokenizer hf;
        try {
            hf = HuggingFaceTokenizer.newInstance(new ByteArrayInputStream(json), opts);
        } catch (RuntimeException e) {   // the Rust library's own words, e.g. "missing field `model`"
            throw new IOException(file + ": not a tokenizer the tokenizers library can load (" + e.getMessage() + ")", e);
        }
        Map<String, Integer> added = new HashMap<>();
        for (JsonNode t : new ObjectMapper().readTree(json).path("added_tokens")) {
            added.put(t.path("content").asText(), t.path("id").asInt());
        }
        return new Tokenizer(hf, file, sources, added);
    }

    /** The files the tokenizer was built from (for cache keys). */
    public List<Path> sourceFiles() {
        return sources;
    }

    public Path file() {
        return file;
    }

    /** Token ids and, per token, its [start, end) in the text as Java string indices. */
    public record Encoded(int[] ids, int[] starts, int[] ends) {
        public int length() {
            return ids.length;
        }
    }

    public Encoded encode(String text) {
        return convert(text, hf.encode(text, false, false));
    }

    /** Encodes many texts at once (the Rust side runs them in parallel). */
    public Encoded[] encodeBatch(List<String> texts) {
        Encoding[] e = hf.batchEncode(texts.toArray(new String[0]), false, false);
        Encoded[] out = new Encoded[e.length];
        for (int i = 0; i < e.length; i++) {
            out[i] = convert(texts.get(i), e[i]);
        }
        return out;
    }

    /** Ids only, without offsets. */
    public int[] ids(String text) {
        return toInts(hf.encode(text, false, false).getIds());
    }

    private static Encoded convert(String text, Encoding e) {
        int[] ids = toInts(e.getIds());
        CharSpan[] spans = e.getCharTokenSpans();
        int[] starts = new int[ids.length];
        int[] ends = new int[ids.length];
        // the Rust library reports code point offsets; Java strings index UTF-16 units
        boolean bmp = text.length() == text.codePointCount(0, text.length());
        for (int i = 0; i < ids.length; i++) {
            CharSpan s = spans[i];
            int start = s == null ? -1 : s.getStart();
            int end = s == null ? -1 : s.getEnd();
            starts[i] = start < 0 || bmp ? start : text.offsetByCodePoints(0, start);
            ends[i] = end < 0 || bmp ? end : text.offsetByCodePoints(0, end);
        }
        return new Encoded(ids, starts, ends);
    }

    private static int[] toInts(long[] a) {
        int[] r = new int[a.length];
        for (int i = 0; i < a.length; i++) {
            r[i] = (int) a[i];
        }
        return r;
    }

    public String decode(int[] ids, boolean skipSpecialTokens) {
        long[] l = new long[ids.length];
        for (int i = 0; i < ids.length; i++) {
            l[i] = ids[i];
        }
        return hf.decode(l, skipSpecialTokens);
    }

    /** The id of a token string: an added/special token, or a text that encodes to exactly one token. */
    public OptionalInt tokenId(String token) {
        if (token == null) {
            return OptionalInt.empty();
        }
        Integer id = addedTokens.get(token);
        if (id != null) {
            return OptionalInt.of(id);
        }
        int[] ids = ids(token);
        return ids.length == 1 ? OptionalInt.of(ids[0]) : OptionalInt.empty();
    }

    /** The text of a token id as tokenizer.json shows it (special tokens by their content). */
    public String tokenText(int id) {
        String s = addedById.get(id);
        return s != null ? s : decode(new int[] {id}, false);
    }

    public boolean isSpecial(int id) {
        return addedById.containsKey(id);
    }

    @Override
    public void close() {
        hf.close();
    }
}
