package org.sft4j.base;

import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Names for a file being written before it is renamed over its final name. Unique per process and writer: the
 * launchers of several nodes, or a node's ranks, may prepare the same output in a shared folder at once, and two
 * writers of one temporary name would move each other's file away (the rename of identical, complete files is
 * harmless).
 */
public final class TempFiles {

    private static final AtomicLong NEXT = new AtomicLong();

    private TempFiles() {}

    /** {@code file}'s temporary sibling: {@code NAME.PID-N.tmp}. */
    public static Path beside(Path file) {
        return file.resolveSibling(file.getFileName() + "." + ProcessHandle.current().pid() + "-" + NEXT.incrementAndGet()
                + ".tmp");
    }
}
