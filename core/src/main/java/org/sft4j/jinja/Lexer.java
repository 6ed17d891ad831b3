package org.sft4j.jinja;

import java.util.ArrayList;
import java.util.List;

/**
 * Splits a template into tokens with jinja2's whitespace rules as transformers configures them:
 * {@code trim_blocks} (the newline after a block or comment tag is dropped), {@code lstrip_blocks}
 * (spaces and tabs before a block or comment tag at the start of a line are dropped), {@code -} on a
 * tag strips all whitespace on that side, {@code +} keeps it.
 */
final class Lexer {

    private final String src;
    private final boolean trimBlocks;
    private final boolean lstripBlocks;
    private final List<Token> out = new ArrayList<>();
    private int pos;
    private int line = 1;
    private boolean stripNextText;
    /** jinja2's {@code line_starting}: the previous match ended with a newline (or nothing was read yet). */
    private boolean lineStarting = true;

    Lexer(String src, boolean trimBlocks, boolean lstripBlocks) {
        this.src = src;
        this.trimBlocks = trimBlocks;
        this.lstripBlocks = lstripBlocks;
    }

    List<Token> tokenize() {
        while (pos < src.length()) {
            int start = nextTag(pos);
            String text = src.substring(pos, start < 0 ? src.length() : start);
            if (start < 0) {
                emitText(text, false, false);
                pos = src.length();
                break;
            }
            char kind = src.charAt(start + 1);
            char mod = start + 2 < src.length() ? src.charAt(start + 2) : ' ';
            boolean stripBefore = mod == '-';
            boolean keepBefore = mod == '+';
            boolean lstrip = lstripBlocks && !keepBefore && (kind == '%' || kind == '#');
            emitText(text, stripBefore, lstrip);
            pos = start + 2 + (stripBefore || keepBefore ? 1 : 0);
            if (kind == '#') {
                int end = src.indexOf("#}", pos);
                if (end < 0) {
                    throw new TemplateException("unclosed comment", line);
                }
                boolean stripAfter = src.charAt(end - 1) == '-' && end - 1 >= pos;
                countLines(pos, end + 2);
                pos = end + 2;
                afterTag(stripAfter, src.charAt(end - 1) == '+');
            } else if (kind == '%' && isRawStart()) {
                lexRaw();
            } else {
                boolean block = kind == '%';
                out.add(new Token(block ? Token.Kind.BLOCK_BEGIN : Token.Kind.VAR_BEGIN, "", line));
                lexInside(block ? "%}" : "}}");
            }
        }
        out.add(new Token(Token.Kind.EOF, "", line));
        return out;
    }

    private int nextTag(int from) {
        int i = from;
        while (true) {
            int j = src.indexOf('{', i);
            if (j < 0 || j + 1 >= src.length()) {
                return -1;
            }
            char c = src.charAt(j + 1);
            if (c == '{' || c == '%' || c == '#') {
                return j;
            }
            i = j + 1;
        }
    }

    private void emitText(String text, boolean stripRight, boolean lstrip) {
        int startLine = line;
        countLines(pos, pos + text.length());
        if (stripNextText) {
            String stripped = stripLeading(text);
            String removed = text.substring(0, text.length() - stripped.length());
            if (!removed.isEmpty()) {
                lineStarting = removed.endsWith("\n");
            }
            text = stripped;
            stripNextText = false;
        }
        if (stripRight) {
            text = stripTrailing(text);
        } else if (lstrip) {
            // as jinja2: strip the spaces between the last newline and the tag, when the tag starts its line
            int nl = text.lastIndexOf('\n');
            String tail = text.substring(nl + 1);
            if ((nl >= 0 || lineStarting) && !tail.isEmpty() && tail.chars().allMatch(Character::isWhitespace)) {
                text = text.substring(0, nl + 1);
            }
        }
        lineStarting = false;
        if (!text.isEmpty()) {
            out.add(new Token(Token.Kind.TEXT, text, startLine));
        }
    }

    private void afterTag(boolean stripAfter, boolean keepAfter) {
        lineStarting = false;
        if (stripAfter) {
            stripNextText = true;
        } else if (trimBlocks && !keepAfter && pos < src.length() && src.charAt(pos) == '\n') {
            pos++;
            line++;
            lineStarting = true;
        } else if (trimBlocks && !keepAfter && src.startsWith("\r\n", pos)) {
            pos += 2;
            line++;
            lineStarting = true;
        }
    }

    private void lexInside(String end) {
        boolean block = end.equals("%}");
        while (true) {
            skipSpaces();
            if (pos >= src.length()) {
                throw new TemplateException("unclosed tag: expected '" + end + "'", line);
            }
            if (src.startsWith("-" + end, pos) || src.startsWith("+" + end, pos) || src.startsWith(end, pos)) {
                boolean strip = src.charAt(pos) == '-';
                boolean keep = src.charAt(pos) == '+';
                pos += end.length() + (strip || keep ? 1 : 0);
                out.add(new Token(block ? Token.Kind.BLOCK_END : Token.Kind.VAR_END, "", line));
                if (block) {
                    afterTag(strip, keep);
                } else {
                    lineStarting = false;
                    stripNextText = strip;
                }
                return;
            }
            char c = src.charAt(pos);
            if (Character.isLetter(c) || c == '_') {
                int s = pos;
                while (pos < src.length() && (Character.isLetterOrDigit(src.charAt(pos)) || src.charAt(pos) == '_')) {
                    pos++;
                }
                out.add(new Token(Token.Kind.NAME, src.substring(s, pos), line));
            } else if (Character.isDigit(c)) {
                lexNumber();
            } else if (c == '\'' || c == '"') {
                out.add(new Token(Token.Kind.STRING, lexString(c), line));
            } else {
                String op = operator();
                if (op == null) {
                    throw new TemplateException("unexpected character '" + c + "' in tag", line);
                }
                out.add(new Token(Token.Kind.OP, op, line));
                pos += op.length();
            }
        }
    }

    private static final String[] OPS = {"**", "//", "==", "!=", "<=", ">=", "+", "-", "*", "/", "%", "~", "|", "(", ")",
        "[", "]", "{", "}", ",", ".", ":", "=", "<", ">"};

    private String operator() {
        for (String op : OPS) {
            if (src.startsWith(op, pos)) {
                return op;
            }
        }
        return null;
    }

    private void lexNumber() {
        int s = pos;
        while (pos < src.length() && (Character.isDigit(src.charAt(pos)) || src.charAt(pos) == '_')) {
            pos++;
        }
        boolean isFloat = false;
        if (pos + 1 < src.length() && src.charAt(pos) == '.' && Character.isDigit(src.charAt(pos + 1))) {
            isFloat = true;
            pos++;
            while (pos < src.length() && Character.isDigit(src.charAt(pos))) {
                pos++;
            }
        }
        if (pos < src.length() && (src.charAt(pos) == 'e' || src.charAt(pos) == 'E')) {
            int save = pos;
            pos++;
            if (pos < src.length() && (src.charAt(pos) == '+' || src.charAt(pos) == '-')) {
                pos++;
            }
            if (pos < src.length() && Character.isDigit(src.charAt(pos))) {
                isFloat = true;
                while (pos < src.length() && Character.isDigit(src.charAt(pos))) {
                    pos++;
                }
            } else {
                pos = save;
            }
        }
        String text = src.substring(s, pos).replace("_", "");
        out.add(new Token(isFloat ? Token.Kind.FLOAT : Token.Kind.INT, text, line));
    }

    /** A string literal with Python's escapes (jinja2 decodes them with unicode-escape). */
    private String lexString(char quote) {
        StringBuilder sb = new StringBuilder();
        pos++;
        while (true) {
            if (pos >= src.length()) {
                throw new TemplateException("unterminated string literal", line);
            }
            char c = src.charAt(pos++);
            if (c == quote) {
                return sb.toString();
            }
            if (c == '\n') {
                line++;
            }
            if (c != '\\') {
                sb.append(c);
                continue;
            }
            char e = src.charAt(pos++);
            switch (e) {
                case 'n' -> sb.append('\n');
                case 't' -> sb.append('\t');
                case 'r' -> sb.append('\r');
                case 'b' -> sb.append('\b');
                case 'f' -> sb.append('\f');
                case 'v' -> sb.append('\u000b');
                case 'a' -> sb.append('\u0007');
                case '0' -> sb.append('\0');
                case '\\' -> sb.append('\\');
                case '\'' -> sb.append('\'');
                case '"' -> sb.append('"');
                case '\n' -> line++;
                case 'x' -> sb.append((char) Integer.parseInt(src.substring(pos, pos += 2), 16));
                case 'u' -> sb.append((char) Integer.parseInt(src.substring(pos, pos += 4), 16));
                case 'U' -> sb.appendCodePoint(Integer.parseInt(src.substring(pos, pos += 8), 16));
                default -> sb.append('\\').append(e);
            }
        }
    }

    private void skipSpaces() {
        while (pos < src.length() && Character.isWhitespace(src.charAt(pos))) {
            if (src.charAt(pos) == '\n') {
                line++;
            }
            pos++;
        }
    }

    private boolean isRawStart() {
        int p = pos + 2;
        if (p < src.length() && (src.charAt(p) == '-' || src.charAt(p) == '+')) {
            p++;
        }
        while (p < src.length() && Character.isWhitespace(src.charAt(p))) {
            p++;
        }
        return src.startsWith("raw", p) && !Character.isLetterOrDigit(src.charAt(p + 3));
    }

    /** {@code {% raw %}...{% endraw %}}: the body is text, untouched. */
    private void lexRaw() {
        int close = src.indexOf("%}", pos);
        pos = close + 2;
        afterTag(src.charAt(close - 1) == '-', false);
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("\\{%[-+]?\\s*endraw\\s*[-+]?%}").matcher(src);
        if (!m.find(pos)) {
            throw new TemplateException("missing {% endraw %}", line);
        }
        String body = src.substring(pos, m.start());
        if (stripNextText) {
            body = stripLeading(body);
            stripNextText = false;
        }
        if (src.charAt(m.start() + 2) == '-') {
            body = stripTrailing(body);
        }
        if (!body.isEmpty()) {
            out.add(new Token(Token.Kind.TEXT, body, line));
        }
        countLines(pos, m.end());
        pos = m.end();
        afterTag(src.charAt(m.end() - 3) == '-', false);
    }

    private void countLines(int from, int to) {
        for (int i = from; i < to && i < src.length(); i++) {
            if (src.charAt(i) == '\n') {
                line++;
            }
        }
    }

    private static String stripLeading(String s) {
        int i = 0;
        while (i < s.length() && Character.isWhitespace(s.charAt(i))) {
            i++;
        }
        return s.substring(i);
    }

    private static String stripTrailing(String s) {
        int i = s.length();
        while (i > 0 && Character.isWhitespace(s.charAt(i - 1))) {
            i--;
        }
        return s.substring(0, i);
    }
}
