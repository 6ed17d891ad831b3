package org.sft4j.cli;

import org.sft4j.base.UserError;
import org.sft4j.config.ConfigFlags;
import org.sft4j.config.SftConfig;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The CONFIG.yaml argument and its overrides, shared by data, train, eval and export: any config key as
 * {@code --key value} (the magics' grammar, {@link ConfigFlags}) or {@code --set key=value}.
 */
final class ConfigOptions {

    /** The help footer of every command that takes a config. */
    static final String KEYS_FOOTER = "%nAny config key overrides CONFIG.yaml as --key value, --key=value or --set key=value "
            + "(a bare --key means true), e.g. --learning_rate 1e-4 --max_steps 200. Keys:%n";

    @Parameters(paramLabel = "CONFIG.yaml [--KEY VALUE]...", hideParamSyntax = true, arity = "1..*",
            description = "A YAML/JSON config (LLaMA-Factory keys), then any --key value overrides.")
    List<String> args = new ArrayList<>();

    @Option(names = "--set", paramLabel = "KEY=VALUE", description = "Override a config key (repeatable).")
    Map<String, String> overrides = new LinkedHashMap<>();

    SftConfig load() throws IOException {
        return load(args, overrides);
    }

    /** CONFIG.yaml among {@code args}, with the {@code --key value} pairs of args and then {@code --set}'s on top. */
    static SftConfig load(List<String> args, Map<String, String> overrides) throws IOException {
        ConfigFlags f = ConfigFlags.parse(args);
        if (f.positional().size() != 1) {
            String taken = f.options().entrySet().stream().filter(e -> e.getValue().matches(".*\\.(ya?ml|json)"))
                    .map(e -> " (--" + e.getKey() + " took '" + e.getValue() + "' as its value: put CONFIG.yaml first)")
                    .findFirst().orElse("");
            throw new UserError(f.positional().isEmpty() ? "no CONFIG.yaml given" + taken
                    : "expected one CONFIG.yaml, got " + String.join(" ", f.positional())
                    + " (a flag's value may be missing: write --key=value)");
        }
        SftConfig c = SftConfig.read(Path.of(f.positional().get(0))).withFlags(f.options()).withFlags(overrides);
        c.warnings().forEach(w -> System.err.println("warning: " + w));
        return c;
    }

    /** Every config key, for a help footer. */
    static String keyList() {
        return String.join(", ", SftConfig.knownKeys());
    }
}
