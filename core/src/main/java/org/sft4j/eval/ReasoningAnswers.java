package org.sft4j.eval;

/**
 * What BLEU and chrF score of a reasoning model's text: the answer after its {@code <think>…</think>} block, as
 * reasoning-model evaluations compare final answers and not the thinking. A generation whose block never closes
 * (it ran out of new tokens while thinking) has no answer; text without a block is scored as it is. A generation
 * prompt that opens the block itself (Qwen3's thinking-only template) leaves only its closing tag in the
 * generated text, which is handled the same way. The predictions file keeps the whole text.
 */
public final class ReasoningAnswers {

    private static final String OPEN = "<think>";
    private static final String CLOSE = "</think>";

    private ReasoningAnswers() {}

    /** The part of {@code text} that is scored. */
    public static String answer(String text) {
        int close = text.lastIndexOf(CLOSE);
        if (close >= 0) {
            return text.substring(close + CLOSE.length()).strip();
        }
        return text.contains(OPEN) ? "" : text;
    }
}
