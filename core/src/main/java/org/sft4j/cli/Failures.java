package org.sft4j.cli;

import org.sft4j.base.UserError;

import java.io.PrintWriter;

/**
 * How a command that failed ends. The user's mistakes ({@link UserError}) and I/O failures (a file missing or
 * malformed, a full disk) are one line naming what is wrong, exit code 1; anything else is a bug of sft4j's,
 * reported as an internal error with its stack trace, exit code 70 (sysexits' EX_SOFTWARE).
 */
final class Failures {

    static final int USER = 1;
    static final int INTERNAL = 70;

    private Failures() {}

    static int report(Exception e, String command, PrintWriter err) {
        if (UserError.isUsers(e)) {
            err.println("sft4j " + command + ": " + UserError.describe(e));
            if (System.getenv("SFT4J_DEBUG") != null) {
                e.printStackTrace(err);
            }
            return USER;
        }
        err.println("sft4j " + command + ": internal error (a bug in sft4j; please report it with what follows): " + e);
        e.printStackTrace(err);
        return INTERNAL;
    }
}
