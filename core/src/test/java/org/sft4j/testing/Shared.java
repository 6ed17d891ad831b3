package org.sft4j.testing;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The test data (fixtures, data, tokenizers) in the layout of the project's {@code shared/} folder:
 * {@code $SFT4J_SHARED} when set, otherwise the repository's own copy ({@code testdata/}, unpacked by
 * {@link TestData} into {@code build/testdata/}), so a clone anywhere runs its tests.
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
        if (env != null && !env.isBlank()) {
            Path p = Path.of(env).toAbsolutePath();
            if (!Files.isDirectory(p.resolve("fixtures")) || !Files.isDirectory(p.resolve("data"))) {
                throw new IllegalStateException("SFT4J_SHARED=" + env + " has no fixtures/ and data/ folders");
            }
            return p;
        }
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            if (Files.isDirectory(p.resolve(TestData.FOLDER).resolve("fixtures"))) {
                return TestData.unpacked(p);
            }
        }
        throw new IllegalStateException("cannot find the repository's " + TestData.FOLDER + "/ folder above "
                + Path.of("").toAbsolutePath() + " (or set SFT4J_SHARED to a folder with fixtures/ and data/)");
    }
}
