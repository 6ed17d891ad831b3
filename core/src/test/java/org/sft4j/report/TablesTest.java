package org.sft4j.report;

import org.junit.jupiter.api.Test;
import org.sft4j.eval.Scorecard;
import tech.tablesaw.api.Table;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

class TablesTest {

    @Test
    void scoresPrintWithFixedDecimals() {
        Table t = Tables.scores(List.of(
                new Scorecard("base", 0, 11.04291, 62498.8123, 0.0, 3.6549, "sig", 2, null),
                new Scorecard("checkpoint-6", 6, 8.3, 4357.79, 4.5, 24.53, "sig", 2, null)));
        assertEquals("0.00", t.getString(0, "BLEU"));
        assertEquals("4.50", t.getString(1, "BLEU"));
        assertEquals("3.65", t.getString(0, "chrF"));
        assertEquals("11.0429", t.getString(0, "val loss"));
        assertEquals("8.3000", t.getString(1, "val loss"));
        assertEquals("62,498.81", t.getString(0, "perplexity"));
        assertEquals(4.5, t.doubleColumn("BLEU").get(1), "the values themselves stay numbers");
    }

    @Test
    void degenerateAnswersAreShortenedInTheSampleTable() {
        String endless = "Ein Ein ".repeat(100);
        Table t = Tables.samples(java.util.Map.of("base", List.of(new org.sft4j.eval.Prediction("1", "a dog", "ein Hund",
                endless, "base"))), 5);
        String shown = t.getString(0, "base");
        assertEquals(Tables.SAMPLE_CHARS + "… (+640 chars)".length(), shown.length(), shown);
        assertEquals("… (+640 chars)", shown.substring(Tables.SAMPLE_CHARS));
    }
}
