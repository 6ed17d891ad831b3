package org.sft4j.magics;

import org.dflib.jjava.jupyter.kernel.BaseKernel;
import org.sft4j.Sft;
import org.sft4j.config.SftConfig;
import org.sft4j.report.Charts;
import org.sft4j.report.Tables;
import org.sft4j.train.StepLog;
import org.sft4j.train.Stoppable;
import org.sft4j.train.TrainListener;
import org.sft4j.train.TrainResult;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;

/**
 * {@code %sft.train [CONFIG.yaml] [--key value ...]} or {@code %%sft.train} with a YAML body: trains with a
 * live loss chart and progress bar updated in place, and ends with a summary table. Interrupting the
 * kernel stops at the next step boundary with a checkpoint.
 */
final class TrainMagic {

    private TrainMagic() {}

    static Object run(BaseKernel k, List<String> args, String body) throws Exception {
        SftConfig cfg = Session.resolve(Flags.parse(args), body);
        Outputs.warnings(k, Session.notices(cfg));
        LiveDisplay chart = new LiveDisplay(k, 250);
        LiveDisplay bar = new LiveDisplay(k, 250);
        List<Integer> steps = new ArrayList<>();
        List<Double> loss = new ArrayList<>();
        List<Integer> valSteps = new ArrayList<>();
        List<Double> valLoss = new ArrayList<>();
        long start = System.nanoTime();
        TrainListener live = new TrainListener() {
            @Override
            public void onResume(Path checkpoint, int step) {
                k.display(Outputs.note("resuming from " + checkpoint + " (step " + step + ")"));
            }

            @Override
            public void onStep(StepLog s) {
                steps.add(s.step());
                loss.add(s.loss());
                double elapsed = (System.nanoTime() - start) / 1e9;
                double eta = s.step() == 0 ? 0 : elapsed / s.step() * (s.totalSteps() - s.step());
                bar.update(() -> Outputs.progress(s.step(), s.totalSteps(), String.format(
                        "step %d/%d · loss %.4f · %.0f tok/s · ETA %.0f s", s.step(), s.totalSteps(), s.loss(),
                        s.tokensPerSecond(), eta)));
                chart.update(() -> Renderers.chart(Charts.lossChart(steps, loss, valSteps, valLoss)));
            }

            @Override
            public void onValidation(int step, double v) {
                valSteps.add(step);
                valLoss.add(v);
                chart.update(() -> Renderers.chart(Charts.lossChart(steps, loss, valSteps, valLoss)));
            }
        };
        AtomicReference<Stoppable> running = new AtomicReference<>();
        TrainResult r;
        try (AutoCloseable stop = Interrupts.onInterrupt(() -> {
            Stoppable t = running.get();
            if (t != null) {
                t.requestStop();
            }
        })) {
            r = Sft.train(cfg, List.of(live), running::set);
        }
        chart.finish(Renderers.chart(Charts.lossChart(steps, loss, valSteps, valLoss)));
        bar.finish(Outputs.progress(r.steps(), r.steps(), r.message()));
        Charts.savePng(Charts.lossChart(steps, loss, valSteps, valLoss), Path.of(cfg.train().outputDir(), "loss.png"));
        k.display(Renderers.table(Tables.trainSummary(r)));
        return null;
    }
}
