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

    /** The message, with the causes' messages when they add something. */
    public static String describe(Throwable e) {
        StringBuilder sb = new StringBuilder(e instanceof UserError ? "" : e.getClass().getSimpleName() + ": ");
        sb.append(e.getMessage());
        for (Throwable c = e.getCause(); c != null; c = c.getCause()) {
            if (c.getMessage() != null && !sb.toString().contains(c.getMessage())) {
                sb.append("\n  caused by ").append(c.getClass().getSimpleName()).append(": ").append(c.getMessage());
            }
        }
        return sb.toString();
    }
}
