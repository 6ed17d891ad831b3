package org.sft4j.config;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;

import java.util.List;

/**
 * Where examples come from and how they become tokens (LLaMA-Factory's data keys, fairseq2's where it has none).
 *
 * @param dataset comma-separated dataset names of {@code dataset_info.json}, files, folders or hub URIs
 * @param datasetDir where {@code dataset_info.json} and relative files live
 * @param evalDataset a separate validation set (instead of {@code val_size})
 * @param testDataset the set generation is scored on (default: the validation examples)
 * @param formatting {@code auto}, {@code alpaca}, {@code sharegpt}, {@code openai}, {@code src_tgt}, {@code translation}
 * @param cutoffLen maximum tokens per example
 * @param overlong what to do with longer examples: {@code drop}, {@code truncate} or {@code error}
 * @param minSeqLen examples with fewer tokens are dropped
 * @param maxSamples use only the first N examples of each dataset
 * @param valSize fraction (below 1) or count of examples held out for validation
 * @param trainOnPrompt supervise prompt tokens too
 * @param maskHistory supervise only the last assistant turn
 * @param packing pack examples into rows of {@code max_num_tokens}
 * @param maxNumTokens token budget per packed row or per dynamic batch
 * @param onError {@code fail} (default) or {@code skip} malformed rows, counting them
 * @param tokenizedPath where the tokenized Parquet files and manifest go (default {@code output_dir/data})
 * @param srcLang source language code for translation data (e.g. {@code en})
 * @param tgtLang target language code (e.g. {@code de})
 * @param translationTemplate instruction text with {src_lang}, {tgt_lang} and {source}
 * @param bidirectional also add the reverse translation direction
 * @param seed shuffling and splitting seed
 */
@JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
@JsonIgnoreProperties(ignoreUnknown = true)
public record DataArgs(String dataset, String datasetDir, String evalDataset, String testDataset, String formatting, Integer cutoffLen,
                       String overlong, Integer minSeqLen, Integer maxSamples, Double valSize, Boolean trainOnPrompt,
                       Boolean maskHistory, Boolean packing, Integer maxNumTokens, String onError, String tokenizedPath,
                       String srcLang, String tgtLang, String translationTemplate, Boolean bidirectional, Long seed) {

    /** The default instruction of the TowerBlocks translation recipe (shared/seeds/000). */
    public static final String DEFAULT_TRANSLATION_TEMPLATE =
            "Translate the following text from {src_lang} to {tgt_lang}.\n{src_lang}: {source}\n{tgt_lang}:";

    public DataArgs {
        datasetDir = datasetDir == null ? "data" : datasetDir;
        formatting = formatting == null ? "auto" : formatting;
        cutoffLen = cutoffLen == null ? 2048 : cutoffLen;
        overlong = overlong == null ? "drop" : overlong;
        if (!List.of("drop", "truncate", "error").contains(overlong)) {
            throw new IllegalArgumentException("overlong must be drop, truncate or error, got '" + overlong + "'");
        }
        minSeqLen = minSeqLen == null ? 1 : minSeqLen;
        valSize = valSize == null ? 0.0 : valSize;
        trainOnPrompt = trainOnPrompt != null && trainOnPrompt;
        maskHistory = maskHistory != null && maskHistory;
        packing = packing != null && packing;
        onError = onError == null ? "fail" : onError;
        if (!List.of("fail", "skip").contains(onError)) {
            throw new IllegalArgumentException("on_error must be fail or skip, got '" + onError + "'");
        }
        translationTemplate = translationTemplate == null ? DEFAULT_TRANSLATION_TEMPLATE : translationTemplate;
        bidirectional = bidirectional != null && bidirectional;
        seed = seed == null ? 42L : seed;
        if (packing && maxNumTokens != null && maxNumTokens < cutoffLen) {
            throw new IllegalArgumentException("max_num_tokens (" + maxNumTokens + ") must be >= cutoff_len (" + cutoffLen
                    + ") when packing, or some examples could never be placed");
        }
    }

    public List<String> datasets() {
        return dataset == null ? List.of() : split(dataset);
    }

    public List<String> evalDatasets() {
        return evalDataset == null ? List.of() : split(evalDataset);
    }

    public List<String> testDatasets() {
        return testDataset == null ? List.of() : split(testDataset);
    }

    /** Splits a dataset list on commas outside braces ({@code train.{en,de}.gz} is one dataset). */
    public static List<String> split(String s) {
        List<String> out = new java.util.ArrayList<>();
        int depth = 0;
        StringBuilder cur = new StringBuilder();
        for (char c : s.toCharArray()) {
            depth += c == '{' ? 1 : c == '}' ? -1 : 0;
            if (c == ',' && depth == 0) {
                add(out, cur);
            } else {
                cur.append(c);
            }
        }
        add(out, cur);
        return out;
    }

    private static void add(List<String> out, StringBuilder cur) {
        if (!cur.toString().isBlank()) {
            out.add(cur.toString().trim());
        }
        cur.setLength(0);
    }
}
