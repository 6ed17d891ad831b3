package org.sft4j.jinja;

import java.util.List;

/** The template's syntax tree: statements ({@link Node}) and expressions ({@link Expr}). */
sealed interface Node {

    record Text(String text) implements Node {}

    record Output(Expr expr, int line) implements Node {}

    record If(List<Expr> conditions, List<List<Node>> bodies, List<Node> elseBody) implements Node {}

    record For(List<String> targets, Expr iter, Expr filter, List<Node> body, List<Node> elseBody, boolean recursive,
               int line) implements Node {}

    record Set(List<String> targets, String attribute, Expr value, int line) implements Node {}

    record SetBlock(String target, List<Node> body) implements Node {}

    record Macro(String name, List<String> params, List<Expr> defaults, List<Node> body) implements Node {}

    record Break() implements Node {}

    record Continue() implements Node {}

    record FilterBlock(String filter, List<Expr> args, List<Node> body, int line) implements Node {}

    /** TRL's {@code {% generation %}}: the body is assistant text that training should supervise. */
    record Generation(List<Node> body) implements Node {}

    sealed interface Expr {
        int line();
    }

    record Literal(Object value, int line) implements Expr {}

    record Name(String name, int line) implements Expr {}

    record ListExpr(List<Expr> items, boolean tuple, int line) implements Expr {}

    record DictExpr(List<Expr> keys, List<Expr> values, int line) implements Expr {}

    record GetAttr(Expr target, String attr, int line) implements Expr {}

    record GetItem(Expr target, Expr index, int line) implements Expr {}

    record Slice(Expr target, Expr start, Expr stop, Expr step, int line) implements Expr {}

    record Call(Expr fn, List<Expr> args, List<String> kwNames, List<Expr> kwValues, int line) implements Expr {}

    record Filter(Expr target, String name, List<Expr> args, List<String> kwNames, List<Expr> kwValues, int line)
            implements Expr {}

    record Test(Expr target, String name, List<Expr> args, boolean negated, int line) implements Expr {}

    record Unary(String op, Expr operand, int line) implements Expr {}

    record Binary(String op, Expr left, Expr right, int line) implements Expr {}

    record Compare(Expr first, List<String> ops, List<Expr> rest, int line) implements Expr {}

    record Concat(List<Expr> parts, int line) implements Expr {}

    record CondExpr(Expr condition, Expr then, Expr otherwise, int line) implements Expr {}
}
