package org.sft4j.config;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The one grammar of config flags, for the command line and the magics alike: {@code --key value} or
 * {@code --key=value} (dashes or underscores), a bare {@code --flag} meaning true, and positional arguments
 * (a config file).
 *
 * @param options keys with underscores, in the order given
 * @param positional everything that is not an option
 */
public record ConfigFlags(Map<String, String> options, List<String> positional) {

    public static ConfigFlags parse(List<String> args) {
        Map<String, String> opts = new LinkedHashMap<>();
        List<String> pos = new ArrayList<>();
        for (int i = 0; i < args.size(); i++) {
            String a = args.get(i);
            if (!a.startsWith("--") || a.length() == 2) {
                pos.add(a);
                continue;
            }
            String key = a.substring(2);
            String value;
            int eq = key.indexOf('=');
            if (eq >= 0) {
                value = key.substring(eq + 1);
                key = key.substring(0, eq);
            } else if (i + 1 < args.size() && !args.get(i + 1).startsWith("--")) {
                value = args.get(++i);
            } else {
                value = "true";
            }
            opts.put(key.replace('-', '_'), value);
        }
        return new ConfigFlags(opts, pos);
    }
}
