package org.sft4j.cli;

import org.sft4j.Sft;
import org.sft4j.base.UserError;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;

@Command(name = "init-model", description = "Write a model with freshly initialised weights (an architecture, a tokenizer, a seed).")
final class InitModelCommand implements Callable<Integer> {

    @Option(names = "--config", required = true, description = "A config.json giving the architecture.")
    Path config;

    @Option(names = "--tokenizer", required = true, description = "Directory whose tokenizer files are copied.")
    Path tokenizer;

    @Option(names = "--out", required = true)
    Path out;

    @Option(names = "--seed", defaultValue = "0")
    long seed;

    @Option(names = "--set", paramLabel = "KEY=VALUE", description = "Override config.json keys, e.g. hidden_size=256.")
    Map<String, String> overrides = new LinkedHashMap<>();

    @Override
    public Integer call() throws Exception {
        Map<String, Object> o = new LinkedHashMap<>();
        for (Map.Entry<String, String> e : overrides.entrySet()) {
            try {
                o.put(e.getKey(), Long.parseLong(e.getValue().strip()));
            } catch (NumberFormatException nf) {
                throw new UserError("--set " + e.getKey() + "=" + e.getValue() + ": a whole number is expected");
            }
        }
        System.out.println("wrote " + Sft.initModel(config, o, tokenizer, out, seed));
        return 0;
    }
}
