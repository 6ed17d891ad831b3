package org.sft4j.magics;

import org.sft4j.config.SftConfig;

import java.nio.file.Path;

/**
 * The notebook's current job config, shared by the magics: {@code %%sft.data} with a YAML body sets it,
 * a later {@code %sft.train --max_steps 200} starts from it. Each magic stores the config it ran with.
 */
public final class Session {

    private static volatile SftConfig current = SftConfig.defaults();
    private static volatile java.util.Map<String, Object> overrides = java.util.Map.of();

    private Session() {}

    public static SftConfig current() {
        return current;
    }

    public static void set(SftConfig c) {
        current = c;
    }

    /**
     * The config a magic runs with: the cell's YAML body, else a config file given as argument, else the
     * session's; then the flags on top. It becomes the session's config.
     */
    public static SftConfig resolve(Flags flags, String body) throws java.io.IOException {
        SftConfig base;
        if (body != null && !body.isBlank()) {
            base = SftConfig.parse(body, "cell");
        } else if (!flags.positional().isEmpty()) {
            base = SftConfig.read(Path.of(flags.positional().get(0)));
        } else {
            base = current;
        }
        SftConfig c = base.withFlags(flags.options()).withAll(overrides);
        current = c;
        return c;
    }

    /**
     * Keys applied on top of every config the magics resolve from now on, even a cell's own YAML: how a
     * notebook switches to small settings for a smoke run ({@code SFT4J_SMOKE}) without editing its cells.
     */
    public static void override(java.util.Map<String, ?> keys) {
        SftConfig.of(keys);   // validate the keys now, not at the next magic
        overrides = java.util.Map.copyOf(keys);
        current = current.withAll(overrides);
    }

    public static void clearOverrides() {
        overrides = java.util.Map.of();
    }
}
