package org.sft4j.magics;

import org.dflib.jjava.jupyter.kernel.BaseKernel;
import org.sft4j.Sft;
import org.sft4j.config.SftConfig;
import org.sft4j.data.DataPipeline;
import org.sft4j.data.DataReport;
import org.sft4j.hub.HubClient;
import org.sft4j.hub.Sources;
import org.sft4j.report.Charts;
import org.sft4j.report.Tables;
import org.sft4j.tokenize.Tokenizer;

import java.util.List;

/**
 * {@code %sft.data [CONFIG.yaml] [--key value ...] [--show N]}, or {@code %%sft.data} with a YAML body:
 * prepares the data and shows the first examples, the token-length histogram with the cutoff, the
 * token-level masking preview and the report of what was kept and dropped.
 */
final class DataMagic {

    private DataMagic() {}

    static Object run(BaseKernel k, List<String> args, String body) throws Exception {
        Flags flags = Flags.parse(args);
        int show = Integer.parseInt(flags.take("show", "5"));
        SftConfig cfg = Session.resolve(flags, body);
        Outputs.warnings(k, Session.notices(cfg));
        LiveDisplay progress = new LiveDisplay(k, 250);
        DataPipeline.Prepared p = Sft.data(cfg, pr -> progress.update(() -> Outputs.note("tokenizing: " + pr.examples()
                + " examples read, " + pr.kept() + " kept")));
        DataReport r = p.report();
        progress.finish(Outputs.note((p.reused() ? "Reused " : "Prepared ") + r.train + " training and " + r.val
                + " validation examples (" + r.formats + ", template " + r.template + ") in " + p.dir()));
        k.display(Renderers.table(Tables.examples(p.preview().subList(0, Math.min(show, p.preview().size())))));
        k.display(Renderers.chart(Charts.lengthHistogram(r)));
        try (Tokenizer tok = Tokenizer.load(Sources.model(cfg.model().tokenizerSource(), HubClient.fromEnvironment()))) {
            k.display(Renderers.html(MaskingPreview.html(p.preview(), tok, Math.min(show, 3), 160),
                    MaskingPreview.text(p.preview(), tok, Math.min(show, 3))));
        }
        k.display(Renderers.table(Tables.dataReport(r)));
        if (!r.skippedRows.isEmpty()) {
            k.display(Outputs.list("Skipped rows (on_error: skip)", r.firstSkipped(5)));
        }
        return null;
    }
}
