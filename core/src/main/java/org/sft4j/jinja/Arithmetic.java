package org.sft4j.jinja;

import java.util.ArrayList;
import java.util.List;

/** Python's binary operators on template values: + - * / // % ** with int/float/str/list rules. */
final class Arithmetic {

    private Arithmetic() {}

    static Object apply(String op, Object a, Object b, int line) {
        if (a instanceof Undefined u) {
            throw u.error(line);
        }
        if (b instanceof Undefined u) {
            throw u.error(line);
        }
        boolean nums = PyValues.isNumber(a) && PyValues.isNumber(b);
        boolean ints = nums && !(a instanceof Double) && !(b instanceof Double);
        switch (op) {
            case "+" -> {
                if (ints) {
                    return PyValues.toLong(a) + PyValues.toLong(b);
                }
                if (nums) {
                    return PyValues.toDouble(a) + PyValues.toDouble(b);
                }
                if (a instanceof String sa && b instanceof String sb) {
                    return sa + sb;
                }
                if (a instanceof List<?> la && b instanceof List<?> lb) {
                    List<Object> r = new ArrayList<>(la);
                    r.addAll(lb);
                    return r;
                }
            }
            case "-" -> {
                if (ints) {
                    return PyValues.toLong(a) - PyValues.toLong(b);
                }
                if (nums) {
                    return PyValues.toDouble(a) - PyValues.toDouble(b);
                }
            }
            case "*" -> {
                if (ints) {
                    return PyValues.toLong(a) * PyValues.toLong(b);
                }
                if (nums) {
                    return PyValues.toDouble(a) * PyValues.toDouble(b);
                }
                if (a instanceof String s && b instanceof Long n) {
                    return n <= 0 ? "" : s.repeat(n.intValue());
                }
                if (a instanceof List<?> l && b instanceof Long n) {
                    List<Object> r = new ArrayList<>();
                    for (long k = 0; k < n; k++) {
                        r.addAll(l);
                    }
                    return r;
                }
            }
            case "/" -> {
                if (nums) {
                    double d = PyValues.toDouble(b);
                    if (d == 0) {
                        throw new TemplateException("division by zero", line);
                    }
                    return PyValues.toDouble(a) / d;
                }
            }
            case "//" -> {
                if (ints) {
                    long d = PyValues.toLong(b);
                    if (d == 0) {
                        throw new TemplateException("integer division by zero", line);
                    }
                    return Math.floorDiv(PyValues.toLong(a), d);
                }
                if (nums) {
                    return Math.floor(PyValues.toDouble(a) / PyValues.toDouble(b));
                }
            }
            case "%" -> {
                if (ints) {
                    long d = PyValues.toLong(b);
                    if (d == 0) {
                        throw new TemplateException("integer modulo by zero", line);
                    }
                    return Math.floorMod(PyValues.toLong(a), d);
                }
                if (nums) {
                    double x = PyValues.toDouble(a);
                    double y = PyValues.toDouble(b);
                    return x - Math.floor(x / y) * y;
                }
                if (a instanceof String fmt) {
                    return Methods.percentFormat(fmt, b instanceof List<?> l ? new ArrayList<>(l) : List.of(b), line);
                }
            }
            case "**" -> {
                if (ints && PyValues.toLong(b) >= 0) {
                    return (long) Math.pow(PyValues.toLong(a), PyValues.toLong(b));
                }
                if (nums) {
                    return Math.pow(PyValues.toDouble(a), PyValues.toDouble(b));
                }
            }
            default -> { }
        }
        throw new TemplateException("unsupported operand type(s) for " + op + ": '" + PyValues.typeName(a) + "' and '"
                + PyValues.typeName(b) + "'", line);
    }
}
