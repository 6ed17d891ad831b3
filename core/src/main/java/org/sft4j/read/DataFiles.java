package org.sft4j.read;

import org.sft4j.read.DataException;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;
import java.util.zip.GZIPInputStream;

/** Opens dataset files by extension: .jsonl/.json/.csv/.tsv/.parquet (optionally .gz), and folders of them. */
public final class DataFiles {

    private static final List<String> SUPPORTED = List.of(".jsonl", ".json", ".csv", ".tsv", ".parquet");

    private DataFiles() {}

    /** The data files of a path: the file itself, or every supported file in a folder, sorted by name. */
    public static List<Path> expand(Path p) throws IOException {
        if (!Files.exists(p)) {
            throw new DataException(p.toString(), "no such file or folder");
        }
        if (!Files.isDirectory(p)) {
            return List.of(p);
        }
        try (Stream<Path> s = Files.list(p)) {
            List<Path> files = s.filter(f -> SUPPORTED.stream().anyMatch(ext -> base(f).endsWith(ext))).sorted().toList();
            if (files.isEmpty()) {
                throw new DataException(p.toString(), "the folder holds no " + SUPPORTED + " files");
            }
            return files;
        }
    }

    private static String base(Path f) {
        String n = f.getFileName().toString().toLowerCase(Locale.ROOT);
        return n.endsWith(".gz") ? n.substring(0, n.length() - 3) : n;
    }

    /** Rows of one file. */
    public static RowStream open(Path f) throws IOException {
        String n = base(f);
        String name = f.toString();
        if (n.endsWith(".parquet")) {
            return new ParquetRows(f);
        }
        InputStream in = input(f);
        if (n.endsWith(".jsonl")) {
            return new JsonlRows(in, name);
        }
        if (n.endsWith(".json")) {
            // a .json file may also be JSON Lines: look at the first non-blank byte
            return firstByteIsArray(f) ? new JsonArrayRows(in, name) : new JsonlRows(in, name);
        }
        if (n.endsWith(".csv")) {
            return new CsvRows(in, name, ',');
        }
        if (n.endsWith(".tsv")) {
            return new CsvRows(in, name, '\t');
        }
        in.close();
        throw new DataException(name, "unsupported file type; use one of " + SUPPORTED + " (optionally .gz)");
    }

    /** Two line-aligned text files as source/target rows. */
    public static RowStream openParallel(Path source, Path target) throws IOException {
        return new ParallelTextRows(new Utf8Lines(input(source), source.toString()),
                new Utf8Lines(input(target), target.toString()), source.toString(), target.toString());
    }

    private static InputStream input(Path f) throws IOException {
        InputStream in = Files.newInputStream(f);
        return f.toString().endsWith(".gz") ? new GZIPInputStream(in, 1 << 16) : in;
    }

    private static boolean firstByteIsArray(Path f) throws IOException {
        try (InputStream in = input(f)) {
            int b;
            while ((b = in.read()) >= 0) {
                if (!Character.isWhitespace(b) && b != 0xef && b != 0xbb && b != 0xbf) {
                    return b == '[';
                }
            }
            return false;
        }
    }
}
