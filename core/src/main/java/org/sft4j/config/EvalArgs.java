package org.sft4j.config;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;

/**
 * Generation and scoring on a test split.
 *
 * @param maxNewTokens tokens generated per example at most
 * @param doSample sample (with temperature/top_p) instead of greedy decoding
 * @param temperature sampling temperature
 * @param topP nucleus size
 * @param evalCheckpoints {@code all}, {@code last}, or comma-separated step numbers
 * @param evalBase also evaluate the model before fine-tuning
 * @param bleuTokenize sacrebleu tokenizer: 13a, intl, zh, char, none
 * @param evalMaxSamples score at most N test examples (a smoke switch)
 * @param samples how many examples the sample table shows
 */
@JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
@JsonIgnoreProperties(ignoreUnknown = true)
public record EvalArgs(Integer maxNewTokens, Boolean doSample, Double temperature, Double topP, String evalCheckpoints,
                       Boolean evalBase, String bleuTokenize, Integer evalMaxSamples, Integer samples) {

    public EvalArgs {
        maxNewTokens = maxNewTokens == null ? 128 : maxNewTokens;
        doSample = doSample != null && doSample;
        temperature = temperature == null ? 1.0 : temperature;
        topP = topP == null ? 1.0 : topP;
        evalCheckpoints = evalCheckpoints == null ? "all" : evalCheckpoints;
        evalBase = evalBase == null || evalBase;
        bleuTokenize = bleuTokenize == null ? "13a" : bleuTokenize;
        samples = samples == null ? 5 : samples;
    }
}
