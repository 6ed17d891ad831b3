package org.sft4j.jinja;

import java.util.List;
import java.util.Map;

/** jinja2's built-in tests ({@code x is defined}, {@code x is string}, ...). */
final class Tests {

    boolean apply(String name, Object v, List<Object> args, int line) {
        return switch (name) {
            case "defined" -> !(v instanceof Undefined);
            case "undefined" -> v instanceof Undefined;
            case "none" -> v == null;
            case "boolean" -> v instanceof Boolean;
            case "true" -> Boolean.TRUE.equals(v);
            case "false" -> Boolean.FALSE.equals(v);
            case "string" -> v instanceof String;
            case "number" -> PyValues.isNumber(v);
            case "integer" -> v instanceof Long || v instanceof Integer;
            case "float" -> v instanceof Double;
            case "mapping" -> v instanceof Map || v instanceof Namespace;
            case "iterable" -> v instanceof List || v instanceof Map || v instanceof String || v instanceof Undefined;
            case "sequence" -> v instanceof List || v instanceof Map || v instanceof String;
            case "callable" -> v instanceof JinjaCallable;
            case "even" -> PyValues.toLong(v) % 2 == 0;
            case "odd" -> PyValues.toLong(v) % 2 != 0;
            case "divisibleby" -> PyValues.toLong(v) % PyValues.toLong(args.get(0)) == 0;
            case "eq", "equalto", "==" -> PyValues.equal(v, args.get(0));
            case "ne", "!=" -> !PyValues.equal(v, args.get(0));
            case "lt", "lessthan", "<" -> PyValues.compare(v, args.get(0), line) < 0;
            case "le", "<=" -> PyValues.compare(v, args.get(0), line) <= 0;
            case "gt", "greaterthan", ">" -> PyValues.compare(v, args.get(0), line) > 0;
            case "ge", ">=" -> PyValues.compare(v, args.get(0), line) >= 0;
            case "in" -> PyValues.contains(args.get(0), v, line);
            case "sameas" -> v == args.get(0) || (v != null && v.equals(args.get(0)) && (v instanceof Boolean));
            case "lower" -> v instanceof String s && s.equals(s.toLowerCase(java.util.Locale.ROOT));
            case "upper" -> v instanceof String s && s.equals(s.toUpperCase(java.util.Locale.ROOT));
            case "escaped" -> false;
            default -> throw new TemplateException("test '" + name + "' is not supported by sft4j's template engine", line);
        };
    }

    boolean exists(String name) {
        return List.of("defined", "undefined", "none", "boolean", "true", "false", "string", "number", "integer", "float",
                "mapping", "iterable", "sequence", "callable", "even", "odd", "divisibleby", "eq", "equalto", "==", "ne",
                "!=", "lt", "lessthan", "<", "le", "<=", "gt", "greaterthan", ">", "ge", ">=", "in", "sameas", "lower",
                "upper", "escaped").contains(name);
    }
}
