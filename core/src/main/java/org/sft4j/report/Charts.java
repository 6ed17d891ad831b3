package org.sft4j.report;

import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.Histogram;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.markers.SeriesMarkers;
import org.sft4j.base.TempFiles;
import org.sft4j.data.DataReport;

import java.awt.Color;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** The charts of a job: token lengths, loss curves, BLEU by checkpoint. */
public final class Charts {

    public static final int WIDTH = 640;
    public static final int HEIGHT = 320;

    private Charts() {}

    private static XYChart chart(String title, String x, String y) {
        XYChart c = new XYChartBuilder().width(WIDTH).height(HEIGHT).title(title).xAxisTitle(x).yAxisTitle(y).build();
        c.getStyler().setLegendPosition(Styler.LegendPosition.OutsideS);   // inside, it covered the last checkpoint's point
        c.getStyler().setChartBackgroundColor(Color.WHITE);
        c.getStyler().setPlotGridLinesVisible(true);
        return c;
    }

    /** The token lengths of a data step: kept examples, and those over cutoff_len at their length before the cut. */
    public static XYChart lengthHistogram(DataReport r) {
        return lengthHistogram(r.lengths, r.overLengths, r.cutoffLen,
                r.overlong.equals("truncate") ? "truncated (length before)" : "dropped: longer than cutoff_len");
    }

    /**
     * A histogram of token lengths, with the cutoff_len drawn as a vertical line and the examples over it (dropped,
     * or truncated to it) as a second series past the line, on the same bins.
     */
    public static XYChart lengthHistogram(List<Integer> kept, List<Integer> over, int cutoff, String overLabel) {
        XYChart c = chart("Token lengths (" + kept.size() + " kept" + (over.isEmpty() ? "" : ", " + over.size()
                + " over cutoff_len") + ")", "tokens", "examples");
        int max = Math.max(cutoff, java.util.stream.Stream.concat(kept.stream(), over.stream()).mapToInt(Integer::intValue)
                .max().orElse(1));
        int bins = Math.max(1, Math.min(40, kept.size() + over.size()));
        if (kept.isEmpty() && over.isEmpty()) {
            c.addSeries("examples", new double[] {0}, new double[] {0});
        }
        if (!kept.isEmpty()) {
            steps(c, "kept", new Histogram(new java.util.ArrayList<>(kept), bins, 0, max), null);   // XChart checks for nulls with contains(null), which List.of refuses
        }
        if (!over.isEmpty()) {
            steps(c, overLabel, new Histogram(new java.util.ArrayList<>(over), bins, 0, max), new Color(230, 140, 20));
        }
        double top = c.getSeriesMap().values().stream().flatMapToDouble(s -> java.util.Arrays.stream(s.getYData()))
                .max().orElse(1);
        XYSeries cut = c.addSeries("cutoff_len " + cutoff, new double[] {cutoff, cutoff}, new double[] {0, Math.max(1, top)});
        cut.setMarker(SeriesMarkers.NONE);
        cut.setLineColor(Color.RED);
        return c;
    }

    private static void steps(XYChart c, String name, Histogram h, Color color) {
        XYSeries s = c.addSeries(name, h.getxAxisData(), h.getyAxisData());
        s.setXYSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.StepArea);
        s.setMarker(SeriesMarkers.NONE);
        if (color != null) {
            s.setFillColor(color);
            s.setLineColor(color);
        }
    }

    /** Training loss per step and validation loss at its steps. */
    public static XYChart lossChart(List<Integer> steps, List<Double> loss, List<Integer> valSteps, List<Double> valLoss) {
        XYChart c = chart("Loss", "step", "loss per supervised token");
        XYSeries t = c.addSeries("train", steps.isEmpty() ? List.of(0) : steps, loss.isEmpty() ? List.of(0.0) : loss);
        t.setMarker(SeriesMarkers.NONE);
        if (!valSteps.isEmpty()) {
            XYSeries v = c.addSeries("validation", valSteps, valLoss);
            v.setMarker(SeriesMarkers.CIRCLE);
        }
        return c;
    }

    /** BLEU (and chrF) of each evaluated model by its step. */
    public static XYChart bleuChart(List<Integer> steps, List<Double> bleu, List<Double> chrf) {
        XYChart c = chart("Scores by checkpoint", "step", "score");
        c.addSeries("BLEU", steps, bleu).setMarker(SeriesMarkers.CIRCLE);
        c.addSeries("chrF", steps, chrf).setMarker(SeriesMarkers.DIAMOND);
        return c;
    }

    /** PNG bytes of a chart. */
    public static byte[] png(XYChart c) throws IOException {
        return BitmapEncoder.getBitmapBytes(c, BitmapEncoder.BitmapFormat.PNG);
    }

    /** Writes a PNG atomically (what LLaMA-Factory's plot_loss leaves in output_dir). */
    public static void savePng(XYChart c, Path file) throws IOException {
        byte[] bytes = png(c);
        TempFiles.write(file, tmp -> Files.write(tmp, bytes));
    }
}
