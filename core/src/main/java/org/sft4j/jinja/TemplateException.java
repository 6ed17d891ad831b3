package org.sft4j.jinja;

import org.sft4j.base.UserError;

/** A template that does not parse, uses an unsupported construct, or fails while rendering; names the line. */
public class TemplateException extends UserError {

    private final int line;

    public TemplateException(String message, int line) {
        super(line > 0 ? "line " + line + ": " + message : message);
        this.line = line;
    }

    public int line() {
        return line;
    }
}
