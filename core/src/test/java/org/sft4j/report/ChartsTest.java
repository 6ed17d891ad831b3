package org.sft4j.report;

import org.junit.jupiter.api.Test;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.Styler;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ChartsTest {

    @Test
    void theHistogramShowsExamplesOverTheCutoffPastTheRedLine() {
        XYChart c = Charts.lengthHistogram(List.of(10, 20, 30, 40), List.of(300), 64, "dropped: longer than cutoff_len");
        assertEquals("Token lengths (4 kept, 1 over cutoff_len)", c.getTitle());
        XYSeries over = c.getSeriesMap().get("dropped: longer than cutoff_len");
        double past = 0;
        for (int i = 0; i < over.getXData().length; i++) {
            if (over.getXData()[i] > 64) {
                past += over.getYData()[i];
            }
        }
        assertEquals(1.0, past, "the dropped example is counted past the cutoff line");
        double kept = java.util.Arrays.stream(c.getSeriesMap().get("kept").getYData()).sum();
        assertEquals(4.0, kept);
        assertTrue(c.getSeriesMap().containsKey("cutoff_len 64"));
    }

    @Test
    void noLegendSitsOnThePlot() {
        for (XYChart c : List.of(Charts.bleuChart(List.of(0, 6, 12), List.of(0.0, 3.0, 5.0), List.of(10.0, 20.0, 30.0)),
                Charts.lossChart(List.of(1, 2), List.of(3.0, 2.0), List.of(2), List.of(2.5)),
                Charts.lengthHistogram(List.of(5), List.of(), 8, "x"))) {
            Styler.LegendPosition p = c.getStyler().getLegendPosition();
            assertFalse(p.name().startsWith("Inside"), c.getTitle() + ": legend " + p);
        }
    }
}
