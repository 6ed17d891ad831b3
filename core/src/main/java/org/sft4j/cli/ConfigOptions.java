package org.sft4j.cli;

import org.sft4j.config.SftConfig;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/** The CONFIG.yaml argument and {@code --set key=value} overrides shared by data, train and eval. */
final class ConfigOptions {

    @Parameters(index = "0", paramLabel = "CONFIG.yaml", description = "A YAML/JSON config (LLaMA-Factory keys).")
    Path config;

    @Option(names = "--set", paramLabel = "KEY=VALUE", description = "Override a config key (repeatable).")
    Map<String, String> overrides = new LinkedHashMap<>();

    SftConfig load() throws IOException {
        SftConfig c = SftConfig.read(config).withAll(overrides);
        c.warnings().forEach(w -> System.err.println("warning: " + w));
        return c;
    }
}
