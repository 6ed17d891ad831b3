package org.sft4j.cli;

import org.sft4j.base.UserError;
import org.sft4j.export.LlamaFactoryExport;
import org.sft4j.hub.HubClient;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.nio.file.Path;
import java.util.concurrent.Callable;

@Command(name = "export", description = "Write the job of CONFIG for another trainer (llamafactory: dataset, dataset_info.json, "
        + "training YAML, DeepSpeed ZeRO-3 config).")
final class ExportCommand implements Callable<Integer> {

    @Parameters(index = "0", paramLabel = "FORMAT", description = "llamafactory")
    String format;

    @Parameters(index = "1..*", paramLabel = "CONFIG.yaml", description = "The job's config, then any --key value overrides.")
    java.util.List<String> args = new java.util.ArrayList<>();

    @Option(names = "--set", paramLabel = "KEY=VALUE", description = "Override a config key (repeatable).")
    java.util.Map<String, String> overrides = new java.util.LinkedHashMap<>();

    @Option(names = "--out", required = true, description = "Directory to write.")
    Path out;

    @Override
    public Integer call() throws Exception {
        if (!format.equals("llamafactory")) {
            throw new UserError("unknown export format '" + format + "'; supported: llamafactory");
        }
        long n = LlamaFactoryExport.write(ConfigOptions.load(args, overrides), out, HubClient.fromEnvironment());
        System.out.println("wrote " + n + " examples and train.yaml to " + out + "; run: FORCE_TORCHRUN=1 llamafactory-cli train "
                + out.resolve("train.yaml"));
        return 0;
    }
}
