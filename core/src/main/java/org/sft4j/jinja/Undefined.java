package org.sft4j.jinja;

/**
 * jinja2's default {@code Undefined}: renders as '', is falsy, iterates as empty, and fails when an
 * attribute or item of it is used.
 */
final class Undefined {

    final String name;

    Undefined(String name) {
        this.name = name;
    }

    TemplateException error(int line) {
        return new TemplateException("'" + name + "' is undefined", line);
    }

    @Override
    public String toString() {
        return "";
    }
}
