package org.sft4j.magics;

import org.sft4j.config.SftConfig;

import java.nio.file.Path;

/**
 * The notebook's current job config, shared by the magics: {@code %%sft.data} with a YAML body sets it,
 * a later {@code %sft.train --max_steps 200} starts from it. Each magic stores the config it ran with. Under
 * {@code SFT4J_SMOKE} (the test suite) every config is run at smoke size, so a notebook needs no test code.
 */
public final class Session {

    private static volatile SftConfig current = SftConfig.defaults();

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
        SftConfig c = base.withFlags(flags.options());
        if (smoke()) {
            c = c.smoke();
        }
        current = c;
        return c;
    }

    /** The config's warnings, and once per kernel session the note that SFT4J_SMOKE shrank the jobs. */
    static java.util.List<String> notices(SftConfig c) {
        if (!smoke() || smokeNoted) {
            return c.warnings();
        }
        smokeNoted = true;
        java.util.List<String> all = new java.util.ArrayList<>(c.warnings());
        all.add("SFT4J_SMOKE is set: every job runs at smoke size (at most " + c.train().maxSteps() + " steps and "
                + c.data().maxSamples() + " examples, output_dir with -smoke)");
        return all;
    }

    private static volatile boolean smokeNoted;

    /** Whether magics run at smoke size ({@link SftConfig#smoke()}): the test suite sets SFT4J_SMOKE for the notebooks. */
    public static boolean smoke() {
        String s = System.getenv("SFT4J_SMOKE");
        return s != null && !s.isBlank() && !s.equals("0");
    }
}
