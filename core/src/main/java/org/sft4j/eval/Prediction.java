package org.sft4j.eval;

/**
 * One generated answer, as written to the predictions JSONL.
 *
 * @param id example id
 * @param source the source text shown to the user
 * @param reference the expected answer
 * @param hypothesis the model's answer, end tokens stripped
 * @param checkpoint which model produced it
 */
public record Prediction(String id, String source, String reference, String hypothesis, String checkpoint) {}
