package org.sft4j.base;

import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * A mistake the user can fix from the message alone: a config value, a flag, a data row, a model or checkpoint
 * folder that is not what it should be. The CLI prints it as one line (exit code 1) and the notebook shows it in
 * the cell without a stack trace; any other exception is an internal error and keeps its trace.
 *
 * <p>The message says what is wrong in the user's words and names the key, file, line or row it is about.
 *
 * <p>It is an {@link IllegalArgumentException} (the value, file or row the user gave is not acceptable), so code that
 * catches those keeps working; what tells the user's mistakes from bugs is this type, not its parent.
 */
public class UserError extends IllegalArgumentException {

    public UserError(String message) {
        super(message);
    }

    public UserError(String message, Throwable cause) {
        super(message, cause);
    }

    /**
     * Whether {@code e} is for the user to fix: a {@link UserError}, or an I/O failure (a missing, unreadable or
     * malformed file, a full disk, the network), whose message names the file. Everything else is a bug of ours.
     */
    public static boolean isUsers(Throwable e) {
        return e instanceof UserError || e instanceof IOException || e instanceof UncheckedIOException;
    }

    /**
     * What to show the user: a {@link UserError}'s message says it all (its cause, often a library's exception, is
     * for debugging); an I/O failure's message gets its causes' messages when they add something and come from sft4j
     * or the JDK (a library's own wording, such as Jackson's "Source: REDACTED", stays out). No class names.
     */
    public static String describe(Throwable e) {
        Throwable shown = e instanceof UncheckedIOException && e.getCause() != null ? e.getCause() : e;
        StringBuilder sb = new StringBuilder(message(shown));
        for (Throwable c = shown instanceof UserError ? null : shown.getCause(); c != null; c = c.getCause()) {
            String name = c.getClass().getName();
            boolean ours = name.startsWith("org.sft4j.") || name.startsWith("java.");
            if (ours && c.getMessage() != null && !sb.toString().contains(c.getMessage())) {
                sb.append("\n  caused by: ").append(c.getMessage());
            }
        }
        return sb.toString();
    }

    /** The JDK's file errors carry only the path as their message: say what happened to it. */
    private static String message(Throwable e) {
        if (e instanceof java.nio.file.NoSuchFileException nf) {
            return "no such file: " + nf.getFile();
        }
        if (e instanceof java.nio.file.AccessDeniedException ad) {
            return "permission denied: " + ad.getFile();
        }
        if (e instanceof java.nio.file.FileAlreadyExistsException fe) {
            return "already exists: " + fe.getFile();
        }
        if (e instanceof java.nio.file.DirectoryNotEmptyException dn) {
            return "folder not empty: " + dn.getFile();
        }
        if (e instanceof java.nio.file.FileSystemException fs && fs.getReason() == null) {
            return "cannot use " + fs.getFile();
        }
        return e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
    }
}
