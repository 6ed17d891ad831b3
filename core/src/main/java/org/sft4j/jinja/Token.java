package org.sft4j.jinja;

/**
 * One lexical token. Text between tags is a {@code TEXT} token; tag delimiters are their own kinds;
 * inside tags, names, literals and operators.
 */
record Token(Kind kind, String value, int line) {

    enum Kind { TEXT, VAR_BEGIN, VAR_END, BLOCK_BEGIN, BLOCK_END, NAME, STRING, INT, FLOAT, OP, EOF }

    boolean is(Kind k, String v) {
        return kind == k && value.equals(v);
    }

    boolean isName(String v) {
        return is(Kind.NAME, v);
    }

    boolean isOp(String v) {
        return is(Kind.OP, v);
    }

    @Override
    public String toString() {
        return kind + "(" + value + ")";
    }
}
