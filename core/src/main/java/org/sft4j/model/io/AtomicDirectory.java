package org.sft4j.model.io;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.stream.Stream;

/**
 * Builds a directory under a temporary sibling name and renames it into place when complete, so a
 * crash or an exception never leaves a directory under the final name that looks finished.
 */
public final class AtomicDirectory implements AutoCloseable {

    private final Path target;
    private final Path staging;
    private boolean committed;

    private AtomicDirectory(Path target, Path staging) {
        this.target = target;
        this.staging = staging;
    }

    /** Starts a new staging directory for {@code target}. */
    public static AtomicDirectory begin(Path target) throws IOException {
        Path parent = target.toAbsolutePath().getParent();
        Files.createDirectories(parent);
        Path staging = parent.resolve("." + target.getFileName() + ".tmp-" + ProcessHandle.current().pid()
                + "-" + System.nanoTime());
        Files.createDirectories(staging);
        return new AtomicDirectory(target, staging);
    }

    /** Where the files go until {@link #commit()}. */
    public Path path() {
        return staging;
    }

    /** Moves the staging directory to the target name, replacing an older one. */
    public Path commit() throws IOException {
        if (Files.exists(target)) {
            Path old = target.resolveSibling("." + target.getFileName() + ".old-" + System.nanoTime());
            Files.move(target, old, StandardCopyOption.ATOMIC_MOVE);
            Files.move(staging, target, StandardCopyOption.ATOMIC_MOVE);
            deleteTree(old);
        } else {
            Files.move(staging, target, StandardCopyOption.ATOMIC_MOVE);
        }
        committed = true;
        return target;
    }

    /** Deletes the staging directory if {@link #commit()} was not reached. */
    @Override
    public void close() throws IOException {
        if (!committed) {
            deleteTree(staging);
        }
    }

    /**
     * Removes what interrupted writes left in {@code parent}: staging directories of processes that are gone, and
     * the previous copy a replacement moved aside when the new one is in place. Returns what was removed.
     */
    public static java.util.List<Path> removeAbandoned(Path parent) throws IOException {
        java.util.List<Path> removed = new java.util.ArrayList<>();
        if (!Files.isDirectory(parent)) {
            return removed;
        }
        java.util.regex.Pattern staging = java.util.regex.Pattern.compile("\\.(.+)\\.tmp-(\\d+)-\\d+");
        java.util.regex.Pattern old = java.util.regex.Pattern.compile("\\.(.+)\\.old-\\d+");
        try (Stream<Path> s = Files.list(parent)) {
            for (Path p : s.toList()) {
                String name = p.getFileName().toString();
                java.util.regex.Matcher t = staging.matcher(name);
                java.util.regex.Matcher o = old.matcher(name);
                boolean abandoned = t.matches() ? ProcessHandle.of(Long.parseLong(t.group(2))).isEmpty()
                        : o.matches() && Files.exists(p.resolveSibling(o.group(1)));
                if (abandoned) {
                    deleteTree(p);
                    removed.add(p);
                }
            }
        }
        return removed;
    }

    /** Deletes a directory tree; missing paths are fine. */
    public static void deleteTree(Path dir) throws IOException {
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
