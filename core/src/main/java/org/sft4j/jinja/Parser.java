package org.sft4j.jinja;

import org.sft4j.jinja.Node.Expr;
import org.sft4j.jinja.Token.Kind;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * A recursive-descent parser for the part of Jinja that chat templates use, with jinja2's operator
 * precedence: or, and, not, comparisons/in, + -, ~, * / // %, **, unary - +, then primary with
 * attribute/subscript/call postfixes and filter/test chains. Constructs outside that subset (extends,
 * include, import, call blocks) are rejected with their line.
 */
final class Parser {

    private static final Set<String> UNSUPPORTED = Set.of("extends", "include", "import", "from", "block", "call",
            "do", "with", "autoescape", "trans");

    private final List<Token> tokens;
    private int i;

    Parser(List<Token> tokens) {
        this.tokens = tokens;
    }

    List<Node> parseTemplate() {
        List<Node> body = parseUntil();
        if (peek().kind() != Kind.EOF) {
            Token t = peekBlockName();
            throw new TemplateException("unexpected '{% " + t.value() + " %}'", t.line());
        }
        return body;
    }

    /** Parses nodes until EOF or a block tag whose name is in {@code ends} (left unconsumed). */
    private List<Node> parseUntil(String... ends) {
        List<Node> out = new ArrayList<>();
        while (true) {
            Token t = peek();
            switch (t.kind()) {
                case EOF -> {
                    if (ends.length > 0) {
                        throw new TemplateException("missing {% " + ends[ends.length - 1] + " %}", t.line());
                    }
                    return out;
                }
                case TEXT -> {
                    next();
                    out.add(new Node.Text(t.value()));
                }
                case VAR_BEGIN -> {
                    next();
                    Expr e = parseExpression();
                    expect(Kind.VAR_END, "}}");
                    out.add(new Node.Output(e, t.line()));
                }
                case BLOCK_BEGIN -> {
                    Token name = tokens.get(i + 1);
                    for (String end : ends) {
                        if (name.isName(end)) {
                            return out;
                        }
                    }
                    next();
                    out.add(parseStatement());
                }
                default -> throw new TemplateException("unexpected " + t, t.line());
            }
        }
    }

    private Node parseStatement() {
        Token name = next();
        if (name.kind() != Kind.NAME) {
            throw new TemplateException("expected a statement name after '{%'", name.line());
        }
        return switch (name.value()) {
            case "if" -> parseIf();
            case "for" -> parseFor(name.line());
            case "set" -> parseSet(name.line());
            case "macro" -> parseMacro();
            case "break" -> {
                expectBlockEnd();
                yield new Node.Break();
            }
            case "continue" -> {
                expectBlockEnd();
                yield new Node.Continue();
            }
            case "filter" -> parseFilterBlock(name.line());
            case "generation" -> {
                expectBlockEnd();
                List<Node> body = parseUntil("endgeneration");
                closeBlock("endgeneration");
                yield new Node.Generation(body);
            }
            default -> {
                if (UNSUPPORTED.contains(name.value())) {
                    throw new TemplateException("'{% " + name.value() + " %}' is not supported by sft4j's template "
                            + "engine (chat templates are rendered standalone)", name.line());
                }
                throw new TemplateException("unknown statement '{% " + name.value() + " %}'", name.line());
            }
        };
    }

    private Node parseIf() {
        List<Expr> conds = new ArrayList<>();
        List<List<Node>> bodies = new ArrayList<>();
        conds.add(parseExpression());
        expectBlockEnd();
        bodies.add(parseUntil("elif", "else", "endif"));
        List<Node> elseBody = List.of();
        while (true) {
            next(); // BLOCK_BEGIN
            Token kw = next();
            if (kw.isName("elif")) {
                conds.add(parseExpression());
                expectBlockEnd();
                bodies.add(parseUntil("elif", "else", "endif"));
            } else if (kw.isName("else")) {
                expectBlockEnd();
                elseBody = parseUntil("endif");
                closeBlock("endif");
                break;
            } else {
                expectBlockEnd();
                break;
            }
        }
        return new Node.If(conds, bodies, elseBody);
    }

    private Node parseFor(int line) {
        List<String> targets = new ArrayList<>();
        targets.add(expectName());
        while (peek().isOp(",")) {
            next();
            targets.add(expectName());
        }
        Token in = next();
        if (!in.isName("in")) {
            throw new TemplateException("expected 'in' in for loop", in.line());
        }
        Expr iter = parseCondless();
        Expr filter = null;
        boolean recursive = false;
        if (peek().isName("if")) {
            next();
            filter = parseCondless();
        }
        if (peek().isName("recursive")) {
            next();
            recursive = true;
        }
        expectBlockEnd();
        List<Node> body = parseUntil("else", "endfor");
        List<Node> elseBody = List.of();
        next();
        if (next().isName("else")) {
            expectBlockEnd();
            elseBody = parseUntil("endfor");
            closeBlock("endfor");
        } else {
            expectBlockEnd();
        }
        return new Node.For(targets, iter, filter, body, elseBody, recursive, line);
    }

    private Node parseSet(int line) {
        String first = expectName();
        if (peek().isOp(".")) {
            next();
            String attr = expectName();
            expectOp("=");
            Expr value = parseTupleOrExpression();
            expectBlockEnd();
            return new Node.Set(List.of(first), attr, value, line);
        }
        List<String> targets = new ArrayList<>(List.of(first));
        while (peek().isOp(",")) {
            next();
            targets.add(expectName());
        }
        if (peek().kind() == Kind.BLOCK_END) {
            next();
            List<Node> body = parseUntil("endset");
            closeBlock("endset");
            return new Node.SetBlock(first, body);
        }
        expectOp("=");
        Expr value = parseTupleOrExpression();
        expectBlockEnd();
        return new Node.Set(targets, null, value, line);
    }

    private Node parseMacro() {
        String name = expectName();
        expectOp("(");
        List<String> params = new ArrayList<>();
        List<Expr> defaults = new ArrayList<>();
        while (!peek().isOp(")")) {
            params.add(expectName());
            if (peek().isOp("=")) {
                next();
                defaults.add(parseExpression());
            } else {
                defaults.add(null);
            }
            if (peek().isOp(",")) {
                next();
            }
        }
        expectOp(")");
        expectBlockEnd();
        List<Node> body = parseUntil("endmacro");
        closeBlock("endmacro");
        return new Node.Macro(name, params, defaults, body);
    }

    private Node parseFilterBlock(int line) {
        String name = expectName();
        List<Expr> args = new ArrayList<>();
        if (peek().isOp("(")) {
            next();
            while (!peek().isOp(")")) {
                args.add(parseExpression());
                if (peek().isOp(",")) {
                    next();
                }
            }
            next();
        }
        expectBlockEnd();
        List<Node> body = parseUntil("endfilter");
        closeBlock("endfilter");
        return new Node.FilterBlock(name, args, body, line);
    }

    // ---- expressions -------------------------------------------------------------------------

    private Expr parseTupleOrExpression() {
        int line = peek().line();
        Expr e = parseExpression();
        if (!peek().isOp(",")) {
            return e;
        }
        List<Expr> items = new ArrayList<>(List.of(e));
        while (peek().isOp(",")) {
            next();
            items.add(parseExpression());
        }
        return new Node.ListExpr(items, true, line);
    }

    Expr parseExpression() {
        Expr e = parseOr();
        if (peek().isName("if")) {
            int line = next().line();
            Expr cond = parseOr();
            Expr otherwise = null;
            if (peek().isName("else")) {
                next();
                otherwise = parseExpression();
            }
            return new Node.CondExpr(cond, e, otherwise, line);
        }
        return e;
    }

    /** An expression without the trailing {@code if ... else} (for-loop iterables and filters). */
    private Expr parseCondless() {
        return parseOr();
    }

    private Expr parseOr() {
        Expr left = parseAnd();
        while (peek().isName("or")) {
            int line = next().line();
            left = new Node.Binary("or", left, parseAnd(), line);
        }
        return left;
    }

    private Expr parseAnd() {
        Expr left = parseNot();
        while (peek().isName("and")) {
            int line = next().line();
            left = new Node.Binary("and", left, parseNot(), line);
        }
        return left;
    }

    private Expr parseNot() {
        if (peek().isName("not")) {
            int line = next().line();
            return new Node.Unary("not", parseNot(), line);
        }
        return parseCompare();
    }

    private Expr parseCompare() {
        int line = peek().line();
        Expr first = parseMath1();
        List<String> ops = new ArrayList<>();
        List<Expr> rest = new ArrayList<>();
        while (true) {
            Token t = peek();
            if (t.kind() == Kind.OP && Set.of("==", "!=", "<", ">", "<=", ">=").contains(t.value())) {
                next();
                ops.add(t.value());
            } else if (t.isName("in")) {
                next();
                ops.add("in");
            } else if (t.isName("not") && tokens.get(i + 1).isName("in")) {
                next();
                next();
                ops.add("notin");
            } else {
                break;
            }
            rest.add(parseMath1());
        }
        return ops.isEmpty() ? first : new Node.Compare(first, ops, rest, line);
    }

    private Expr parseMath1() {
        Expr left = parseConcat();
        while (peek().isOp("+") || peek().isOp("-")) {
            Token op = next();
            left = new Node.Binary(op.value(), left, parseConcat(), op.line());
        }
        return left;
    }

    private Expr parseConcat() {
        int line = peek().line();
        List<Expr> parts = new ArrayList<>(List.of(parseMath2()));
        while (peek().isOp("~")) {
            next();
            parts.add(parseMath2());
        }
        return parts.size() == 1 ? parts.get(0) : new Node.Concat(parts, line);
    }

    private Expr parseMath2() {
        Expr left = parsePow();
        while (peek().isOp("*") || peek().isOp("/") || peek().isOp("//") || peek().isOp("%")) {
            Token op = next();
            left = new Node.Binary(op.value(), left, parsePow(), op.line());
        }
        return left;
    }

    private Expr parsePow() {
        Expr left = parseUnary(true);
        while (peek().isOp("**")) {
            Token op = next();
            left = new Node.Binary("**", left, parseUnary(true), op.line());
        }
        return left;
    }

    private Expr parseUnary(boolean withFilter) {
        Token t = peek();
        Expr node;
        if (t.isOp("-") || t.isOp("+")) {
            next();
            node = new Node.Unary(t.value(), parseUnary(false), t.line());
        } else {
            node = parsePostfix(parsePrimary());
        }
        return withFilter ? parseFilterExpr(node) : node;
    }

    private Expr parsePrimary() {
        Token t = next();
        switch (t.kind()) {
            case NAME -> {
                return switch (t.value()) {
                    case "true", "True" -> new Node.Literal(Boolean.TRUE, t.line());
                    case "false", "False" -> new Node.Literal(Boolean.FALSE, t.line());
                    case "none", "None" -> new Node.Literal(null, t.line());
                    default -> new Node.Name(t.value(), t.line());
                };
            }
            case STRING -> {
                StringBuilder sb = new StringBuilder(t.value());
                while (peek().kind() == Kind.STRING) {
                    sb.append(next().value());
                }
                return new Node.Literal(sb.toString(), t.line());
            }
            case INT -> {
                return new Node.Literal(Long.parseLong(t.value()), t.line());
            }
            case FLOAT -> {
                return new Node.Literal(Double.parseDouble(t.value()), t.line());
            }
            case OP -> {
                switch (t.value()) {
                    case "(" -> {
                        if (peek().isOp(")")) {
                            next();
                            return new Node.ListExpr(List.of(), true, t.line());
                        }
                        Expr e = parseExpression();
                        if (peek().isOp(",")) {
                            List<Expr> items = new ArrayList<>(List.of(e));
                            while (peek().isOp(",")) {
                                next();
                                if (peek().isOp(")")) {
                                    break;
                                }
                                items.add(parseExpression());
                            }
                            expectOp(")");
                            return new Node.ListExpr(items, true, t.line());
                        }
                        expectOp(")");
                        return e;
                    }
                    case "[" -> {
                        List<Expr> items = new ArrayList<>();
                        while (!peek().isOp("]")) {
                            items.add(parseExpression());
                            if (!peek().isOp("]")) {
                                expectOp(",");
                            }
                        }
                        next();
                        return new Node.ListExpr(items, false, t.line());
                    }
                    case "{" -> {
                        List<Expr> keys = new ArrayList<>();
                        List<Expr> values = new ArrayList<>();
                        while (!peek().isOp("}")) {
                            keys.add(parseExpression());
                            expectOp(":");
                            values.add(parseExpression());
                            if (!peek().isOp("}")) {
                                expectOp(",");
                            }
                        }
                        next();
                        return new Node.DictExpr(keys, values, t.line());
                    }
                    default -> { }
                }
            }
            default -> { }
        }
        throw new TemplateException("unexpected '" + t.value() + "' in expression", t.line());
    }

    private Expr parsePostfix(Expr node) {
        while (true) {
            Token t = peek();
            if (t.isOp(".")) {
                next();
                Token attr = next();
                if (attr.kind() == Kind.NAME) {
                    node = new Node.GetAttr(node, attr.value(), t.line());
                } else if (attr.kind() == Kind.INT) {
                    node = new Node.GetItem(node, new Node.Literal(Long.parseLong(attr.value()), t.line()), t.line());
                } else {
                    throw new TemplateException("expected an attribute name after '.'", t.line());
                }
            } else if (t.isOp("[")) {
                next();
                node = parseSubscript(node, t.line());
            } else if (t.isOp("(")) {
                node = parseCall(node);
            } else {
                return node;
            }
        }
    }

    private Expr parseSubscript(Expr target, int line) {
        Expr start = null;
        if (!peek().isOp(":")) {
            start = parseExpression();
            if (peek().isOp("]")) {
                next();
                return new Node.GetItem(target, start, line);
            }
        }
        expectOp(":");
        Expr stop = null;
        Expr step = null;
        if (!peek().isOp("]") && !peek().isOp(":")) {
            stop = parseExpression();
        }
        if (peek().isOp(":")) {
            next();
            if (!peek().isOp("]")) {
                step = parseExpression();
            }
        }
        expectOp("]");
        return new Node.Slice(target, start, stop, step, line);
    }

    private Node.Call parseCall(Expr fn) {
        int line = next().line();
        List<Expr> args = new ArrayList<>();
        List<String> kwNames = new ArrayList<>();
        List<Expr> kwValues = new ArrayList<>();
        parseArgs(args, kwNames, kwValues);
        return new Node.Call(fn, args, kwNames, kwValues, line);
    }

    /** Parses {@code (a, b, k=v)} after the opening parenthesis has been consumed. */
    private void parseArgs(List<Expr> args, List<String> kwNames, List<Expr> kwValues) {
        while (!peek().isOp(")")) {
            if (peek().kind() == Kind.NAME && tokens.get(i + 1).isOp("=")) {
                kwNames.add(next().value());
                next();
                kwValues.add(parseExpression());
            } else {
                args.add(parseExpression());
            }
            if (!peek().isOp(")")) {
                expectOp(",");
            }
        }
        next();
    }

    private Expr parseFilterExpr(Expr node) {
        while (true) {
            Token t = peek();
            if (t.isOp("|")) {
                next();
                String name = dottedName();
                List<Expr> args = new ArrayList<>();
                List<String> kwNames = new ArrayList<>();
                List<Expr> kwValues = new ArrayList<>();
                if (peek().isOp("(")) {
                    next();
                    parseArgs(args, kwNames, kwValues);
                }
                node = new Node.Filter(node, name, args, kwNames, kwValues, t.line());
            } else if (t.isName("is")) {
                next();
                boolean negated = false;
                if (peek().isName("not")) {
                    next();
                    negated = true;
                }
                String name = dottedName();
                List<Expr> args = new ArrayList<>();
                Token n = peek();
                if (n.isOp("(")) {
                    next();
                    parseArgs(args, new ArrayList<>(), new ArrayList<>());
                } else if ((n.kind() == Kind.NAME && !Set.of("else", "or", "and", "if", "is", "in", "not").contains(n.value()))
                        || n.kind() == Kind.STRING || n.kind() == Kind.INT || n.kind() == Kind.FLOAT
                        || n.isOp("[") || n.isOp("{") || n.isOp("(")) {
                    args.add(parsePostfix(parsePrimary()));
                }
                node = new Node.Test(node, name, args, negated, t.line());
            } else if (t.isOp("(")) {
                node = parseCall(node);
            } else {
                return node;
            }
        }
    }

    private String dottedName() {
        StringBuilder sb = new StringBuilder(expectName());
        while (peek().isOp(".")) {
            next();
            sb.append('.').append(expectName());
        }
        return sb.toString();
    }

    // ---- token helpers -----------------------------------------------------------------------

    private Token peek() {
        return tokens.get(i);
    }

    private Token peekBlockName() {
        return tokens.get(Math.min(i + 1, tokens.size() - 1));
    }

    private Token next() {
        return tokens.get(i++);
    }

    private String expectName() {
        Token t = next();
        if (t.kind() != Kind.NAME) {
            throw new TemplateException("expected a name, found '" + t.value() + "'", t.line());
        }
        return t.value();
    }

    private void expectOp(String op) {
        Token t = next();
        if (!t.isOp(op)) {
            throw new TemplateException("expected '" + op + "', found '" + t.value() + "'", t.line());
        }
    }

    private void expect(Kind kind, String what) {
        Token t = next();
        if (t.kind() != kind) {
            throw new TemplateException("expected '" + what + "', found '" + t.value() + "'", t.line());
        }
    }

    private void expectBlockEnd() {
        expect(Kind.BLOCK_END, "%}");
    }

    private void closeBlock(String name) {
        next(); // BLOCK_BEGIN
        Token t = next();
        if (!t.isName(name)) {
            throw new TemplateException("expected {% " + name + " %}", t.line());
        }
        expectBlockEnd();
    }
}
