package org.sft4j.jinja;

/** A template that does not parse, uses an unsupported construct, or fails while rendering; names the line. */
public class TemplateException extends RuntimeException {

    private final int line;

    public TemplateException(String message, int line) {
        super(line > 0 ? "line " + line + ": " + message : message);
        this.line = line;
    }

    public int line() {
        return line;
    }
}
