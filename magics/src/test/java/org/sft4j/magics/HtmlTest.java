package org.sft4j.magics;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Tables of long text fit the page (equal columns, wrapped text); tables of numbers keep their natural width. */
class HtmlTest {

    @Test
    void longTextWrapsInsideThePageWidth() {
        String html = Html.table("samples", List.of("source", "base", "checkpoint-12"),
                List.of(List.of("A dog runs.", "EinEinEinEinEinEinEinEinEinEinEinEinEinEinEinEin", "Ein Hund läuft.")));
        assertTrue(html.contains("width:100%;table-layout:fixed"), html);
        assertTrue(html.contains("overflow-wrap:anywhere"), "a run without spaces breaks too");
    }

    @Test
    void aTableOfNumbersKeepsItsWidth() {
        String html = Html.table("scores", List.of("model", "BLEU"), List.of(List.of("base", "0.00"), List.of("checkpoint-6", "4.50")));
        assertFalse(html.contains("table-layout:fixed"), html);
    }
}
