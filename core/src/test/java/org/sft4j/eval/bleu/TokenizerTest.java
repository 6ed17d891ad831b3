package org.sft4j.eval.bleu;

import org.junit.jupiter.api.Test;
import org.sft4j.base.PyStrings;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Tokenizations worked out by hand from sacrebleu's regular expressions. */
class TokenizerTest {

    @Test
    void thirteenASplitsAsciiPunctuationButKeepsNumberSeparators() {
        BleuTokenizer t = BleuTokenizer.of("13a");
        assertEquals("Hello , world !", t.tokenize("Hello, world!"));
        assertEquals("It costs 1,000.50 $ .", t.tokenize("It costs 1,000.50 $."));
        assertEquals("a well-known 3 - 4 split", t.tokenize("a well-known 3-4 split"));
        assertEquals("\" A & B \"", t.tokenize("&quot;A &amp; B&quot;"));
        assertEquals("", t.tokenize(""));
    }

    @Test
    void intlSplitsUnicodePunctuationAndSymbols() {
        BleuTokenizer t = BleuTokenizer.of("intl");
        // “ and ” are punctuation (Pi/Pf), € a symbol (Sc); the comma between digits stays
        assertEquals("“ quotes ” cost 1,5 €", t.tokenize("“quotes” cost 1,5€"));
        assertEquals("Hallo , Welt !", t.tokenize("Hallo, Welt!"));
    }

    @Test
    void zhSpacesCjkAndReproducesSacrebleusRangeQuirk() {
        BleuTokenizer t = BleuTokenizer.of("zh");
        assertEquals("我 爱 你 。", t.tokenize("我爱你。"));
        // sacrebleu's range written u'\u20000' starts at U+2001 by Python's string comparison: ‘ (U+2018) is "Chinese"
        assertTrue(TokenizerZh.isChinese(0x2018));
        assertTrue(!TokenizerZh.isChinese(0x2000));
        assertTrue(!TokenizerZh.isChinese(0x20000), "supplementary ideographs are not matched by sacrebleu either");
    }

    @Test
    void charTokenizerAndPythonWhitespace() {
        assertEquals("a b   c", BleuTokenizer.of("char").tokenize("ab c"));
        // U+00A0 and U+202F are whitespace for Python's split(), not for Java's Character.isWhitespace
        assertEquals(List.of("a", "b", "c"), PyStrings.split("a\u00a0b\u202fc"));
        assertEquals("x", PyStrings.rstrip("x\u3000 \n"));
    }

    @Test
    void emptyHypothesisScoresZeroWithZeroBrevityPenalty() {
        BleuScore s = Bleu.builder().build().corpusScore(List.of(""), List.of(List.of("a b c")));
        assertEquals(0.0, s.score());
        assertEquals(0.0, s.bp());
        assertEquals(0, s.sysLen());
        assertEquals(3, s.refLen());
    }

    @Test
    void identicalShortSentenceIs100WithEffectiveOrder() {
        Bleu b = Bleu.builder().effectiveOrder(true).build();
        assertEquals(100.0, b.sentenceScore("Hello", List.of("Hello")).score(), 1e-9);
        // without effective order the missing 2..4-grams give exp smoothing: 0.0 * ... -> my_log floor -> 0
        assertEquals(0.0, Bleu.builder().build().sentenceScore("Hello", List.of("Hello")).score(), 1e-9);
    }

    @Test
    void closestReferenceLengthPrefersTheShorterOnTies() {
        assertEquals(4, Bleu.closestRefLen(5, List.of(6, 4)));
        assertEquals(6, Bleu.closestRefLen(6, List.of(6, 4)));
    }

    @Test
    void severalReferencesAndTheirSignature() {
        BleuScore s = Bleu.builder().build().corpusScore(List.of("the cat sat on the mat"),
                List.of(List.of("the cat is on the mat"), List.of("the cat sat on the mat")));
        assertEquals(100.0, s.score(), 1e-9);
        assertTrue(s.signature().startsWith("nrefs:2|case:mixed|eff:no|tok:13a|smooth:exp|version:"), s.signature());
        BleuScore floor = Bleu.builder().smoothing(Smoothing.FLOOR, null).build().corpusScore(List.of("a"), List.of(List.of("a")));
        assertTrue(floor.signature().contains("smooth:floor[0.10]"), floor.signature());
    }

    @Test
    void lineCountMismatchNamesBothCounts() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Bleu.builder().build().corpusScore(List.of("a", "b"), List.of(List.of("a"))));
        assertTrue(e.getMessage().contains("2") && e.getMessage().contains("1"), e.getMessage());
    }

    @Test
    void pythonRoundingIsHalfEvenOnTheBinaryValue() {
        assertEquals("0.12", PyStrings.fixed(0.125, 2));   // 0.125 is exact in binary: a true tie, Python rounds to even
        assertEquals("2.67", PyStrings.fixed(2.675, 2));   // 2.675 is 2.67499999... in binary: Python prints 2.67
    }
}
