package org.sft4j.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;
import java.util.zip.GZIPInputStream;

/**
 * Unpacks the repository's test data into {@code build/testdata/} once, in {@code shared/}'s layout:
 * {@code testdata/} with every {@code NAME.gz} stored compressed and written as {@code NAME} (large
 * tokenizer files; see testdata/README.md), plus the folders the notebooks already carry, kept once in
 * {@code notebooks/data/}. A fingerprint of the sources (names, sizes, times) decides whether to redo it.
 */
final class TestData {

    static final String FOLDER = "testdata";

    /** Folders of notebooks/data that the tests use too, and where shared/'s layout puts them. */
    private static final String[][] FROM_NOTEBOOKS = {
        {"notebooks/data/multi30k", "data/multi30k"},
        {"notebooks/data/alpaca", "data/alpaca"},
        {"notebooks/data/smollm2-135m-instruct", "data/tokenizers/smollm2-135m-instruct"},
    };

    private static final String STAMP = ".sources";

    private TestData() {}

    /** The unpacked copy of repo's test data, made now if missing or older than its sources. */
    static synchronized Path unpacked(Path repo) {
        try {
            List<Source> sources = new ArrayList<>();
            sources.add(new Source(repo.resolve(FOLDER), "", true));
            for (String[] s : FROM_NOTEBOOKS) {
                sources.add(new Source(repo.resolve(s[0]), s[1], false));
            }
            String fingerprint = fingerprint(sources);
            Path out = repo.resolve("build/testdata");
            if (fingerprint.equals(readStamp(out))) {
                return out;
            }
            Files.createDirectories(out.getParent());
            Path tmp = Files.createTempDirectory(out.getParent(), "testdata-");
            for (Source s : sources) {
                s.copyInto(tmp);
            }
            Files.writeString(tmp.resolve(STAMP), fingerprint);
            deleteTree(out);
            try {
                Files.move(tmp, out, StandardCopyOption.ATOMIC_MOVE);
            } catch (FileAlreadyExistsException | java.nio.file.DirectoryNotEmptyException raced) {
                deleteTree(tmp); // another test JVM unpacked the same sources first
            }
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot unpack " + repo.resolve(FOLDER) + " into build/testdata", e);
        }
    }

    private record Source(Path dir, String target, boolean packed) {

        void copyInto(Path root) throws IOException {
            for (Path f : files(dir)) {
                String rel = dir.relativize(f).toString();
                boolean gz = packed && rel.endsWith(".gz");
                Path to = root.resolve(target).resolve(gz ? rel.substring(0, rel.length() - 3) : rel);
                Files.createDirectories(to.getParent());
                if (gz) {
                    try (InputStream in = new GZIPInputStream(Files.newInputStream(f), 1 << 16)) {
                        Files.copy(in, to);
                    }
                } else {
                    Files.copy(f, to);
                }
            }
        }
    }

    private static String fingerprint(List<Source> sources) throws IOException {
        StringBuilder b = new StringBuilder();
        for (Source s : sources) {
            if (!Files.isDirectory(s.dir())) {
                throw new IOException(s.dir() + " is missing");
            }
            for (Path f : files(s.dir())) {
                b.append(s.target()).append('/').append(s.dir().relativize(f)).append(' ').append(Files.size(f))
                        .append(' ').append(Files.getLastModifiedTime(f).toMillis()).append('\n');
            }
        }
        return b.toString();
    }

    private static List<Path> files(Path dir) throws IOException {
        try (Stream<Path> s = Files.walk(dir)) {
            return s.filter(Files::isRegularFile).sorted().toList();
        }
    }

    private static String readStamp(Path out) throws IOException {
        Path stamp = out.resolve(STAMP);
        return Files.isRegularFile(stamp) ? Files.readString(stamp) : null;
    }

    private static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
