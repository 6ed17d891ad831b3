package org.sft4j.base;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Files written under a temporary name and renamed over their final name when complete, so that a failed write never
 * leaves a file that looks finished. The temporary names are unique per process and writer: the launchers of several
 * nodes, or a node's ranks, may write the same output in a shared folder at once, and two writers of one temporary
 * name would move each other's file away (the rename of identical, complete files is harmless).
 */
public final class TempFiles {

    private static final AtomicLong NEXT = new AtomicLong();

    /** What writes the content into the temporary file. */
    @FunctionalInterface
    public interface Content {
        void writeTo(Path tmp) throws IOException;
    }

    private TempFiles() {}

    /** {@code file}'s temporary sibling: {@code NAME.PID-N.tmp}. */
    public static Path beside(Path file) {
        return file.resolveSibling(file.getFileName() + "." + ProcessHandle.current().pid() + "-" + NEXT.incrementAndGet()
                + ".tmp");
    }

    /** Writes {@code content} beside {@code file} and renames it over {@code file}; nothing is left if it fails. */
    public static void write(Path file, Content content) throws IOException {
        Path tmp = beside(file);
        try {
            content.writeTo(tmp);
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(tmp);   // nothing after the move; a half-written file otherwise
        }
    }
}
