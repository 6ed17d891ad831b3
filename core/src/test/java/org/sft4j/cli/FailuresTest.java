package org.sft4j.cli;

import org.junit.jupiter.api.Test;
import org.sft4j.base.UserError;
import org.sft4j.read.DataException;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.NoSuchFileException;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A failed command: the user's mistakes are one line and exit 1; our bugs are internal errors with a trace, exit 70. */
class FailuresTest {

    private static String[] report(Exception e) {
        StringWriter out = new StringWriter();
        int code = Failures.report(e, "train", new PrintWriter(out, true));
        return new String[] {String.valueOf(code), out.toString().strip()};
    }

    @Test
    void usersMistakesAreOneLine() {
        assertEquals("1", report(new UserError("learning_rate must be positive"))[0]);
        assertEquals("sft4j train: learning_rate must be positive",
                report(new UserError("learning_rate must be positive", new IllegalStateException("Jackson internals")))[1],
                "a user error's cause (often a library's) is not shown");
        assertEquals("sft4j train: data.jsonl:3: missing 'output'", report(new DataException("data.jsonl:3", "missing 'output'"))[1]);
        String[] missing = report(new NoSuchFileException("/tmp/none.yaml"));
        assertEquals("1", missing[0]);
        assertEquals("sft4j train: no such file: /tmp/none.yaml", missing[1]);
        assertEquals("1", report(new IOException("/tmp/x/model.safetensors: header is not JSON"))[0], "a file's fault");
    }

    @Test
    void anythingElseIsAnInternalErrorWithItsTrace() {
        String[] r = report(new IllegalStateException("the optimizer has no moments for q_proj"));
        assertEquals("70", r[0]);
        assertTrue(r[1].startsWith("sft4j train: internal error (a bug in sft4j; please report it with what follows): "
                + "java.lang.IllegalStateException: the optimizer has no moments for q_proj"), r[1]);
        assertTrue(r[1].contains("\tat org.sft4j.cli.FailuresTest"), "the stack trace follows: " + r[1]);
        assertEquals("70", report(new IllegalArgumentException("Shape mismatch"))[0], "a library's IAE is not the user's");
    }
}
