package org.sft4j.report;

import org.sft4j.data.DataPipeline;
import org.sft4j.data.DataReport;
import org.sft4j.eval.Prediction;
import org.sft4j.eval.Scorecard;
import org.sft4j.tokenize.EncodedExample;
import org.sft4j.train.TrainResult;
import tech.tablesaw.api.DoubleColumn;
import tech.tablesaw.api.IntColumn;
import tech.tablesaw.api.StringColumn;
import tech.tablesaw.api.Table;
import tech.tablesaw.columns.numbers.NumberColumnFormatter;

import java.util.List;
import java.util.Map;

/** Tablesaw tables of a job's results, for the notebook and for Java cells. */
public final class Tables {

    private Tables() {}

    /** What the data step did: one row per count. */
    public static Table dataReport(DataReport r) {
        StringColumn what = StringColumn.create("what");
        StringColumn count = StringColumn.create("count");
        for (String[] row : r.rows()) {
            what.append(row[0]);
            count.append(row[1]);
        }
        return Table.create("data report", what, count);
    }

    /** The first examples: id, tokens, supervised tokens, rendered text. */
    public static Table examples(List<DataPipeline.Preview> preview) {
        StringColumn id = StringColumn.create("id");
        IntColumn tokens = IntColumn.create("tokens");
        IntColumn sup = IntColumn.create("supervised");
        StringColumn text = StringColumn.create("rendered text");
        for (DataPipeline.Preview p : preview) {
            id.append(p.id());
            tokens.append(p.inputIds().length);
            sup.append(new EncodedExample(p.id(), p.inputIds(), p.labels(), false).supervised());
            text.append(p.text());
        }
        return Table.create("first examples", id, tokens, sup, text);
    }

    /** One row per evaluated model. */
    public static Table scores(List<Scorecard> cards) {
        StringColumn model = StringColumn.create("model");
        IntColumn step = IntColumn.create("step");
        DoubleColumn loss = DoubleColumn.create("val loss");
        DoubleColumn ppl = DoubleColumn.create("perplexity");
        DoubleColumn bleu = DoubleColumn.create("BLEU");
        DoubleColumn chrf = DoubleColumn.create("chrF");
        for (Scorecard c : cards) {
            model.append(c.name());
            step.append(c.step());
            loss.append(round(c.valLoss(), 4));
            ppl.append(round(c.perplexity(), 2));
            bleu.append(round(c.bleu(), 2));
            chrf.append(round(c.chrf(), 2));
        }
        // fixed decimals, so a BLEU of 0 reads 0.00 beside 4.54 rather than 0
        loss.setPrintFormatter(NumberColumnFormatter.fixedWithGrouping(4));
        for (DoubleColumn c : List.of(ppl, bleu, chrf)) {
            c.setPrintFormatter(NumberColumnFormatter.fixedWithGrouping(2));
        }
        return Table.create("scores", model, step, loss, ppl, bleu, chrf);
    }

    /** The first {@code n} test examples with every model's answer side by side. */
    public static Table samples(Map<String, List<Prediction>> predictions, int n) {
        StringColumn source = StringColumn.create("source");
        StringColumn reference = StringColumn.create("reference");
        List<String> models = List.copyOf(predictions.keySet());
        StringColumn[] hyp = new StringColumn[models.size()];
        for (int m = 0; m < models.size(); m++) {
            hyp[m] = StringColumn.create(models.get(m));
        }
        List<Prediction> first = models.isEmpty() ? List.of() : predictions.get(models.get(0));
        for (int i = 0; i < Math.min(n, first.size()); i++) {
            source.append(first.get(i).source());
            reference.append(first.get(i).reference());
            for (int m = 0; m < models.size(); m++) {
                hyp[m].append(shortened(predictions.get(models.get(m)).get(i).hypothesis()));
            }
        }
        Table t = Table.create("samples", source, reference);
        for (StringColumn h : hyp) {
            t.addColumns(h);
        }
        return t;
    }

    /** Longest answer text the sample table shows: an untrained model's endless repetition would take the page. */
    static final int SAMPLE_CHARS = 160;

    /** The text, cut at {@link #SAMPLE_CHARS} with a mark saying how much more the predictions file holds. */
    static String shortened(String s) {
        return s.length() <= SAMPLE_CHARS ? s : s.substring(0, SAMPLE_CHARS) + "… (+" + (s.length() - SAMPLE_CHARS) + " chars)";
    }

    /** The end of a training run. */
    public static Table trainSummary(TrainResult r) {
        StringColumn what = StringColumn.create("what");
        StringColumn value = StringColumn.create("value");
        add(what, value, "status", r.status().name().toLowerCase());
        add(what, value, "steps", String.valueOf(r.steps()));
        add(what, value, "validation loss (first -> last)", fmt(r.firstValLoss()) + " -> " + fmt(r.lastValLoss()));
        add(what, value, "best validation loss", fmt(r.bestValLoss()));
        add(what, value, "time", String.format("%.1f s", r.seconds()));
        add(what, value, "checkpoints", r.checkpoints().stream().map(p -> p.getFileName().toString()).toList().toString());
        add(what, value, "model", String.valueOf(r.lastCheckpoint()));
        return Table.create("training", what, value);
    }

    private static void add(StringColumn a, StringColumn b, String x, String y) {
        a.append(x);
        b.append(y);
    }

    private static String fmt(double d) {
        return Double.isNaN(d) ? "-" : String.format("%.4f", d);
    }

    private static double round(double v, int digits) {
        if (!Double.isFinite(v)) {
            return v;
        }
        double f = Math.pow(10, digits);
        return Math.round(v * f) / f;
    }
}
