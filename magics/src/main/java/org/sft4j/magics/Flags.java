package org.sft4j.magics;

import org.sft4j.config.ConfigFlags;

import java.util.List;
import java.util.Map;

/**
 * Magic arguments, in the command line's grammar ({@link ConfigFlags}): {@code --key value} or
 * {@code --key=value} pairs, a bare {@code --flag} meaning true, and positional arguments (a config file).
 *
 * @param options keys with underscores, in the order given
 * @param positional everything that is not an option
 */
public record Flags(Map<String, String> options, List<String> positional) {

    public static Flags parse(List<String> args) {
        ConfigFlags f = ConfigFlags.parse(args);
        return new Flags(f.options(), f.positional());
    }

    /** Removes and returns a magic's own option (not a config key), e.g. {@code --samples}. */
    public String take(String key, String dflt) {
        String v = options.remove(key);
        return v == null ? dflt : v;
    }
}
