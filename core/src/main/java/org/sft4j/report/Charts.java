package org.sft4j.report;

import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.Histogram;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.markers.SeriesMarkers;

import java.awt.Color;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;

/** The charts of a job: token lengths, loss curves, BLEU by checkpoint. */
public final class Charts {

    public static final int WIDTH = 640;
    public static final int HEIGHT = 320;

    private Charts() {}

    private static XYChart chart(String title, String x, String y) {
        XYChart c = new XYChartBuilder().width(WIDTH).height(HEIGHT).title(title).xAxisTitle(x).yAxisTitle(y).build();
        c.getStyler().setLegendPosition(Styler.LegendPosition.InsideNE);
        c.getStyler().setChartBackgroundColor(Color.WHITE);
        c.getStyler().setPlotGridLinesVisible(true);
        return c;
    }

    /** A histogram of token lengths, with the cutoff_len drawn as a vertical line. */
    public static XYChart lengthHistogram(List<Integer> lengths, int cutoff) {
        XYChart c = chart("Token lengths (" + lengths.size() + " examples)", "tokens", "examples");
        int max = Math.max(cutoff, lengths.stream().mapToInt(Integer::intValue).max().orElse(1));
        int bins = Math.max(1, Math.min(40, lengths.size()));
        if (lengths.isEmpty()) {
            c.addSeries("examples", new double[] {0}, new double[] {0});
        } else {
            Histogram h = new Histogram(lengths, bins, 0, max);
            XYSeries s = c.addSeries("examples", h.getxAxisData(), h.getyAxisData());
            s.setXYSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.StepArea);
            s.setMarker(SeriesMarkers.NONE);
        }
        double top = c.getSeriesMap().values().stream().flatMapToDouble(s -> java.util.Arrays.stream(s.getYData()))
                .max().orElse(1);
        XYSeries cut = c.addSeries("cutoff_len " + cutoff, new double[] {cutoff, cutoff}, new double[] {0, Math.max(1, top)});
        cut.setMarker(SeriesMarkers.NONE);
        cut.setLineColor(Color.RED);
        return c;
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
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        Files.write(tmp, png(c));
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }
}
