package org.sft4j.eval;

/**
 * The scores of one model (a checkpoint, or the base model) on the test split.
 *
 * @param name {@code base} or {@code checkpoint-<step>}
 * @param step optimizer steps (0 for the base model)
 * @param valLoss mean validation loss per supervised token, NaN when no validation split
 * @param perplexity exp(valLoss)
 * @param bleu corpus BLEU
 * @param chrf corpus chrF
 * @param bleuSignature sacrebleu-style signature of the BLEU score
 * @param examples scored examples
 * @param predictions the predictions JSONL
 */
public record Scorecard(String name, int step, double valLoss, double perplexity, double bleu, double chrf,
                        String bleuSignature, int examples, java.nio.file.Path predictions) {}
