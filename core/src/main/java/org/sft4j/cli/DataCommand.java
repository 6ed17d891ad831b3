package org.sft4j.cli;

import org.sft4j.Sft;
import org.sft4j.data.DataPipeline;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

import java.util.concurrent.Callable;

@Command(name = "data", description = "Read, template, tokenize and mask the datasets of CONFIG into Parquet.")
final class DataCommand implements Callable<Integer> {

    @Mixin
    ConfigOptions options;

    @Override
    public Integer call() throws Exception {
        DataPipeline.Prepared p = Sft.data(options.load(), null);
        System.out.println((p.reused() ? "reused " : "wrote ") + p.train() + " and " + p.val());
        System.out.print(p.report());
        return 0;
    }
}
