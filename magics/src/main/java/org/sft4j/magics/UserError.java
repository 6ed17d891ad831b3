package org.sft4j.magics;

import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * A failure caused by what the user asked (bad flag, bad data, missing file): shown in the cell as a
 * message, without the kernel's stack trace.
 */
public final class UserError extends RuntimeException {

    public UserError(String message) {
        super(message);
    }

    public UserError(String message, Throwable cause) {
        super(message, cause);
    }

    /** Errors the user can fix from the message alone. */
    public static boolean isUserError(Throwable e) {
        return e instanceof UserError || e instanceof IllegalArgumentException || e instanceof IOException
                || e instanceof UncheckedIOException || e instanceof org.sft4j.read.DataException
                || e instanceof org.sft4j.jinja.TemplateException || e instanceof IllegalStateException;
    }

    /**
     * The message in the user's words: no class names; a cause's message only when it adds something and comes
     * from sft4j or the JDK (a library's own wording, such as Jackson's "Source: REDACTED", stays out).
     */
    public static String describe(Throwable e) {
        Throwable shown = e instanceof UncheckedIOException && e.getCause() != null ? e.getCause() : e;
        StringBuilder sb = new StringBuilder(shown.getMessage() != null ? shown.getMessage() : shown.getClass().getSimpleName());
        for (Throwable c = shown.getCause(); c != null; c = c.getCause()) {
            String name = c.getClass().getName();
            boolean ours = name.startsWith("org.sft4j.") || name.startsWith("java.");
            if (ours && c.getMessage() != null && !sb.toString().contains(c.getMessage())) {
                sb.append("\n  caused by: ").append(c.getMessage());
            }
        }
        return sb.toString();
    }
}
