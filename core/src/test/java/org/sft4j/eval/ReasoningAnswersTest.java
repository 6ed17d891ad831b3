package org.sft4j.eval;

import org.junit.jupiter.api.Test;
import org.sft4j.eval.bleu.Bleu;
import org.sft4j.eval.bleu.Chrf;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** BLEU and chrF of a reasoning model score the answer after its think block, on both sides. */
class ReasoningAnswersTest {

    @Test
    void theAnswerAfterTheLastClosedBlockIsScored() {
        assertEquals("Ein Hund läuft.", ReasoningAnswers.answer("<think>\nThe dog runs: Hund, läuft.\n</think>\n\nEin Hund läuft."));
        assertEquals("4", ReasoningAnswers.answer("<think>\n\n</think>\n\n4"), "Qwen3's empty block");
        assertEquals("Blue.", ReasoningAnswers.answer("red? no.\n</think>\n\nBlue."), "the prompt opened the block");
        assertEquals("B", ReasoningAnswers.answer("<think>a</think>A<think>b</think>B"), "the last block closes the thinking");
        assertEquals("", ReasoningAnswers.answer("<think>\nStill thinking when max_new_tokens ran out"), "no answer yet");
        assertEquals("Ein Hund läuft.", ReasoningAnswers.answer("Ein Hund läuft."), "no block: as it is");
    }

    @Test
    void thinkingDoesNotCountForOrAgainstTheScore() {
        List<String> refs = List.of("<think>\nreference reasoning\n</think>\n\nEin Hund läuft über die Wiese.");
        List<String> hyps = List.of("<think>\nganz andere Gedanken, lang und ausführlich\n</think>\n\nEin Hund läuft über die Wiese.");
        List<String> h = hyps.stream().map(ReasoningAnswers::answer).toList();
        List<String> r = refs.stream().map(ReasoningAnswers::answer).toList();
        assertEquals(100.0, Bleu.builder().build().corpusScore(h, List.of(r)).score(), 1e-9);
        assertEquals(100.0, Chrf.chrf().corpusScore(h, List.of(r)).score(), 1e-9);
        assertTrue(Bleu.builder().build().corpusScore(hyps, List.of(refs)).score() < 60, "the blocks would have counted");
    }
}
