package org.sft4j.testing;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Locates the project's {@code shared/} folder (fixtures, data, tokenizers): {@code $SFT4J_SHARED}, or a
 * {@code shared/} or {@code ../shared} found walking up from the working directory.
 */
public final class Shared {

    private static final Path ROOT = find();

    private Shared() {}

    public static Path root() {
        return ROOT;
    }

    public static Path fixtures(String rel) {
        return ROOT.resolve("fixtures").resolve(rel);
    }

    public static Path data(String rel) {
        return ROOT.resolve("data").resolve(rel);
    }

    public static Path tokenizer(String name) {
        return ROOT.resolve("data/tokenizers").resolve(name);
    }

    private static Path find() {
        String env = System.getenv("SFT4J_SHARED");
        if (env != null && Files.isDirectory(Path.of(env, "fixtures"))) {
            return Path.of(env).toAbsolutePath();
        }
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            for (Path c : new Path[] {p.resolve("shared"), p.resolveSibling("shared")}) {
                if (Files.isDirectory(c.resolve("fixtures")) && Files.isDirectory(c.resolve("data"))) {
                    return c;
                }
            }
        }
        throw new IllegalStateException("cannot find the shared/ folder with fixtures/ and data/: set SFT4J_SHARED "
                + "or run from a checkout that has ../shared beside it");
    }
}
