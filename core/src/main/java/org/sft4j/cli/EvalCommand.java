package org.sft4j.cli;

import org.sft4j.Sft;
import org.sft4j.eval.EvalListener;
import org.sft4j.eval.Evaluator;
import org.sft4j.eval.Scorecard;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

import java.util.concurrent.Callable;

@Command(name = "eval", description = "Generate on the test split with the base model and every checkpoint; score BLEU and chrF.")
final class EvalCommand implements Callable<Integer> {

    @Mixin
    ConfigOptions options;

    @Override
    public Integer call() throws Exception {
        Evaluator.Result r = Sft.eval(options.load(), new EvalListener() {
            @Override
            public void onModelStart(String name, int index, int models) {
                System.out.printf("[%d/%d] %s%n", index + 1, models, name);
            }

            @Override
            public void onWarning(String message) {
                System.err.println("warning: " + message);
            }
        });
        System.out.printf("%-18s %6s %9s %10s %7s %7s%n", "model", "step", "val_loss", "perplexity", "BLEU", "chrF");
        for (Scorecard c : r.cards()) {
            System.out.printf("%-18s %6d %9.4f %10.2f %7.2f %7.2f%n", c.name(), c.step(), c.valLoss(), c.perplexity(), c.bleu(),
                    c.chrf());
        }
        if (!r.cards().isEmpty()) {
            System.out.println("BLEU signature: " + r.cards().get(0).bleuSignature());
        }
        System.out.println("predictions and scores in " + r.dir());
        return 0;
    }
}
