package org.sft4j.eval.bleu;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.sft4j.read.TextLines;
import org.sft4j.testing.Shared;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** Every number of shared/fixtures/bleu_expected.json (sacrebleu 2.6.0 on Multi30K test), to 4 decimals. */
class SacrebleuParityTest {

    static List<String> hyps;
    static List<String> refs;
    static JsonNode expected;

    @BeforeAll
    static void load() throws Exception {
        hyps = TextLines.read(Shared.fixtures("bleu_hyp.de"));
        refs = TextLines.read(Shared.data("multi30k/test_2016_flickr.de.gz"));
        expected = new ObjectMapper().readTree(Shared.fixtures("bleu_expected.json").toFile());
        assertEquals(1000, hyps.size());
        assertEquals(1000, refs.size());
    }

    @ParameterizedTest
    @ValueSource(strings = {"13a", "intl", "none", "char"})
    void corpusBleuPerTokenizer(String tok) {
        JsonNode e = expected.get("bleu_" + tok);
        BleuScore s = Bleu.builder().tokenize(tok).build().corpusScore(hyps, List.of(refs));
        assertEquals(e.get("score").asDouble(), s.score(), 5e-5, "score");
        assertArrayEquals(longs(e.get("counts")), s.counts(), "counts");
        assertArrayEquals(longs(e.get("totals")), s.totals(), "totals");
        assertEquals(e.get("bp").asDouble(), s.bp(), 5e-5, "bp");
        assertEquals(e.get("sys_len").asLong(), s.sysLen());
        assertEquals(e.get("ref_len").asLong(), s.refLen());
        String sig = e.get("signature").asText();
        assertEquals(sig.substring(0, sig.indexOf("|version:")), s.signature().substring(0, s.signature().indexOf("|version:")));
        assertEquals("version:" + Bleu.VERSION, s.signature().substring(s.signature().indexOf("version:")));
    }

    @Test
    void lowercaseBleu() {
        double s = Bleu.builder().lowercase(true).build().corpusScore(hyps, List.of(refs)).score();
        assertEquals(expected.get("bleu_13a_lowercase").get("score").asDouble(), s, 5e-5);
    }

    @Test
    void chrfAndChrfPlusPlus() {
        assertEquals(expected.get("chrf").asDouble(), Chrf.chrf().corpusScore(hyps, List.of(refs)).score(), 5e-5);
        assertEquals(expected.get("chrf++").asDouble(), Chrf.chrfPlusPlus().corpusScore(hyps, List.of(refs)).score(), 5e-5);
    }

    @Test
    void sentenceBleuOfTheFirstTwentyWithEffectiveOrder() {
        Bleu b = Bleu.builder().effectiveOrder(true).build();
        JsonNode e = expected.get("sentence_bleu_first_20");
        for (int i = 0; i < 20; i++) {
            assertEquals(e.get(i).asDouble(), b.sentenceScore(hyps.get(i), List.of(refs.get(i))).score(), 5e-5, "line " + i);
        }
    }

    @Test
    void scoreLineLooksLikeSacrebleus() {
        BleuScore s = Bleu.builder().build().corpusScore(hyps, List.of(refs));
        // sacrebleu -f text: BLEU|<signature> = 67.17 <p1>/<p2>/<p3>/<p4> (BP = 0.902 ratio = 0.906 hyp_len = 10970 ref_len = 12106)
        assertEquals("BLEU|" + s.signature() + " = 67.17 92.7/77.6/68.7/62.4 (BP = 0.902 ratio = 0.906 hyp_len = 10970 ref_len = 12106)",
                s.format());
    }

    static long[] longs(JsonNode n) {
        long[] r = new long[n.size()];
        for (int i = 0; i < r.length; i++) {
            r[i] = n.get(i).asLong();
        }
        return r;
    }
}
