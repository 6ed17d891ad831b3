package org.sft4j.magics;

import org.dflib.jjava.jupyter.kernel.display.DisplayData;
import org.dflib.jjava.jupyter.kernel.display.Renderer;
import org.dflib.jjava.jupyter.kernel.display.mime.MIMEType;
import org.knowm.xchart.VectorGraphicsEncoder;
import org.knowm.xchart.internal.chartpart.Chart;
import org.sft4j.data.DataReport;
import org.sft4j.report.Tables;
import org.sft4j.train.TrainResult;
import tech.tablesaw.api.Table;
import tech.tablesaw.columns.Column;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

/**
 * How sft4j's values look in a notebook: Tablesaw tables as HTML (text fallback), XChart charts as PNG
 * (SVG when asked for {@code image/svg+xml}), and core report objects as their tables.
 */
public final class Renderers {

    private static final MIMEType SVG = MIMEType.parse("image/svg+xml");

    private Renderers() {}

    public static void register(Renderer r) {
        r.createRegistration(Table.class).preferring(MIMEType.TEXT_HTML).supporting(MIMEType.TEXT_PLAIN)
                .register((t, ctx) -> ctx.getOutputContainer().assign(table(t)));
        r.createRegistration(Chart.class).preferring(MIMEType.IMAGE_PNG).supporting(SVG, MIMEType.TEXT_PLAIN)
                .register((c, ctx) -> {
                    DisplayData out = ctx.getOutputContainer();
                    if (ctx.wantsDataRenderedAs(SVG)) {
                        out.putSVG(svg(c));
                    }
                    if (ctx.wantsDataRenderedAs(MIMEType.IMAGE_PNG)) {
                        out.putData(MIMEType.IMAGE_PNG, png(c));
                    }
                    out.putText("<chart: " + c.getTitle() + ">");
                });
        r.createRegistration(DataReport.class).preferring(MIMEType.TEXT_HTML).supporting(MIMEType.TEXT_PLAIN)
                .register((d, ctx) -> ctx.getOutputContainer().assign(table(Tables.dataReport(d))));
        r.createRegistration(TrainResult.class).preferring(MIMEType.TEXT_HTML).supporting(MIMEType.TEXT_PLAIN)
                .register((t, ctx) -> ctx.getOutputContainer().assign(table(Tables.trainSummary(t))));
    }

    /** A Tablesaw table as HTML and plain text. */
    public static DisplayData table(Table t) {
        List<String> header = t.columnNames();
        List<List<String>> rows = new ArrayList<>();
        for (int i = 0; i < t.rowCount(); i++) {
            List<String> row = new ArrayList<>();
            for (Column<?> c : t.columns()) {
                row.add(c.getString(i));
            }
            rows.add(row);
        }
        DisplayData d = new DisplayData(t.name() + "\n" + Html.text(header, rows));
        d.putHTML(Html.table(t.name(), header, rows));
        return d;
    }

    /** A chart as a base64 PNG with a text fallback. */
    public static DisplayData chart(Chart<?, ?> c) {
        DisplayData d = new DisplayData("<chart: " + c.getTitle() + ">");
        d.putData(MIMEType.IMAGE_PNG, png(c));
        return d;
    }

    static String png(Chart<?, ?> c) {
        try {
            return Base64.getEncoder().encodeToString(org.knowm.xchart.BitmapEncoder.getBitmapBytes(c,
                    org.knowm.xchart.BitmapEncoder.BitmapFormat.PNG));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static String svg(Chart<?, ?> c) {
        try {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            VectorGraphicsEncoder.saveVectorGraphic(c, out, VectorGraphicsEncoder.VectorGraphicsFormat.SVG);
            return out.toString(StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Several outputs in one: HTML joined, text joined (for a magic's single result). */
    public static DisplayData html(String html, String text) {
        DisplayData d = new DisplayData(text);
        d.putHTML(html);
        return d;
    }
}
