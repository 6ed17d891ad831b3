package org.sft4j.magics;

import org.dflib.jjava.jupyter.kernel.BaseKernel;
import org.sft4j.Sft;
import org.sft4j.config.SftConfig;
import org.sft4j.eval.EvalListener;
import org.sft4j.eval.Evaluator;
import org.sft4j.eval.Scorecard;
import org.sft4j.report.Charts;
import org.sft4j.report.Tables;

import java.util.List;

/**
 * {@code %sft.eval [CONFIG.yaml] [--key value ...] [--samples N]}: generates on the test split with the base
 * model and every checkpoint, then shows the score table, BLEU by step and N samples side by side.
 */
final class EvalMagic {

    private EvalMagic() {}

    static Object run(BaseKernel k, List<String> args, String body) throws Exception {
        Flags flags = Flags.parse(args);
        String samples = flags.take("samples", null);
        SftConfig cfg = Session.resolve(flags, body);
        int n = samples == null ? cfg.eval().samples() : Integer.parseInt(samples);
        LiveDisplay progress = new LiveDisplay(k, 250);
        int[] model = new int[2];
        Evaluator.Result r = Sft.eval(cfg, new EvalListener() {
            @Override
            public void onModelStart(String name, int index, int models) {
                model[0] = index;
                model[1] = models;
                progress.update(() -> Outputs.progress(index, models, "evaluating " + name));
            }

            @Override
            public void onWarning(String message) {
                Outputs.warnings(k, List.of(message));
            }

            @Override
            public void onGenerated(String name, int done, int total) {
                progress.update(() -> Outputs.progress(done, total, "model " + (model[0] + 1) + "/" + model[1] + " " + name
                        + ": generated " + done + "/" + total));
            }
        });
        progress.finish(Outputs.progress(r.cards().size(), r.cards().size(), "evaluated " + r.cards().size()
                + " models; predictions in " + r.dir()));
        k.display(Renderers.table(Tables.scores(r.cards())));
        List<Integer> steps = r.cards().stream().map(Scorecard::step).toList();
        k.display(Renderers.chart(Charts.bleuChart(steps, r.cards().stream().map(Scorecard::bleu).toList(),
                r.cards().stream().map(Scorecard::chrf).toList())));
        k.display(Renderers.table(Tables.samples(r.predictions(), n)));
        if (!r.cards().isEmpty()) {
            k.display(Outputs.note("BLEU signature: " + r.cards().get(0).bleuSignature()));
        }
        return null;
    }
}
