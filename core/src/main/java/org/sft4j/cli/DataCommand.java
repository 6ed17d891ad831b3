package org.sft4j.cli;

import org.sft4j.Sft;
import org.sft4j.data.DataPipeline;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

import java.util.concurrent.Callable;

@Command(name = "data", description = "Read, template, tokenize and mask the datasets of CONFIG into Parquet.")
final class DataCommand implements Callable<Integer> {

    /** Skipped rows printed with their reasons; report.json keeps more. */
    static final int SKIPPED_SHOWN = 5;

    @Mixin
    ConfigOptions options;

    @Override
    public Integer call() throws Exception {
        DataPipeline.Prepared p = Sft.data(options.load(), null);
        System.out.println((p.reused() ? "reused " : "wrote ") + p.train() + " and " + p.val());
        System.out.print(p.report());
        if (!p.report().skippedRows.isEmpty()) {
            System.out.println("skipped rows (on_error: skip):");
            p.report().firstSkipped(SKIPPED_SHOWN).forEach(s -> System.out.println("  " + s));
        }
        return 0;
    }
}
