package org.sft4j.jinja;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * jinja2's built-in filters that chat templates use, with {@code tojson} as transformers defines it
 * ({@code json.dumps(x, ensure_ascii=False, ...)}, no HTML escaping).
 */
final class Filters {

    private final Interpreter interpreter;
    private final Tests tests;

    Filters(Interpreter interpreter, Tests tests) {
        this.interpreter = interpreter;
        this.tests = tests;
    }

    Object apply(String name, Object v, List<Object> args, Map<String, Object> kw, int line) {
        switch (name) {
            case "default", "d" -> {
                Object dflt = args.isEmpty() ? "" : args.get(0);
                boolean boolean_ = args.size() > 1 ? PyValues.truthy(args.get(1)) : PyValues.truthy(kw.get("boolean"));
                return v instanceof Undefined || (boolean_ && !PyValues.truthy(v)) ? dflt : v;
            }
            case "length", "count" -> {
                return (long) PyValues.length(v, line);
            }
            default -> {
                if (v instanceof Undefined u && !name.equals("string") && !name.equals("trim") && !name.equals("list")
                        && !name.equals("join") && !name.equals("safe")) {
                    throw u.error(line);
                }
            }
        }
        return switch (name) {
            case "trim" -> Methods.strip(PyValues.str(v), args.isEmpty() ? null : PyValues.str(args.get(0)), true, true);
            case "string" -> PyValues.str(v);
            case "safe", "e", "escape" -> name.equals("safe") ? v : escape(PyValues.str(v));
            case "upper" -> PyValues.str(v).toUpperCase(Locale.ROOT);
            case "lower" -> PyValues.str(v).toLowerCase(Locale.ROOT);
            case "title" -> title(PyValues.str(v));
            case "capitalize" -> {
                String s = PyValues.str(v);
                yield s.isEmpty() ? s : s.substring(0, 1).toUpperCase(Locale.ROOT) + s.substring(1).toLowerCase(Locale.ROOT);
            }
            case "replace" -> PyValues.str(v).replace(PyValues.str(args.get(0)), PyValues.str(args.get(1)));
            case "tojson" -> JsonDumps.dumps(v, intOrNull(arg(args, kw, 0, "indent")), null, null,
                    PyValues.truthy(kw.get("sort_keys")), line);
            case "join" -> {
                String sep = args.isEmpty() ? (String) kw.getOrDefault("d", "") : PyValues.str(args.get(0));
                Object attr = args.size() > 1 ? args.get(1) : kw.get("attribute");
                StringBuilder sb = new StringBuilder();
                List<Object> items = PyValues.iterate(v, line);
                for (int i = 0; i < items.size(); i++) {
                    Object x = attr == null ? items.get(i) : Attributes.getItem(items.get(i), attr, line);
                    sb.append(i > 0 ? sep : "").append(PyValues.str(x));
                }
                yield sb.toString();
            }
            case "list" -> PyValues.iterate(v, line);
            case "first" -> {
                List<Object> l = PyValues.iterate(v, line);
                yield l.isEmpty() ? new Undefined("first") : l.get(0);
            }
            case "last" -> {
                List<Object> l = PyValues.iterate(v, line);
                yield l.isEmpty() ? new Undefined("last") : l.get(l.size() - 1);
            }
            case "reverse" -> {
                if (v instanceof String s) {
                    yield new StringBuilder(s).reverse().toString();
                }
                List<Object> l = PyValues.iterate(v, line);
                java.util.Collections.reverse(l);
                yield l;
            }
            case "items" -> v instanceof Map<?, ?> m ? Methods.bind(m, "items", line).call(List.of(), Map.of()) : List.of();
            case "dictsort" -> {
                List<Object> items = new ArrayList<>();
                ((Map<?, ?>) v).forEach((k, x) -> items.add(java.util.Arrays.asList(k, x)));
                items.sort((a, b) -> PyValues.compare(((List<?>) a).get(0), ((List<?>) b).get(0), line));
                yield items;
            }
            case "map" -> map(v, args, kw, line);
            case "select", "reject" -> selectOrReject(v, args, name.equals("select"), false, line);
            case "selectattr", "rejectattr" -> selectOrReject(v, args, name.equals("selectattr"), true, line);
            case "unique" -> new ArrayList<>(new LinkedHashSet<>(PyValues.iterate(v, line)));
            case "sort" -> {
                List<Object> l = PyValues.iterate(v, line);
                Object attr = kw.get("attribute");
                Comparator<Object> c = (a, b) -> PyValues.compare(attr == null ? a : Attributes.getItem(a, attr, line),
                        attr == null ? b : Attributes.getItem(b, attr, line), line);
                l.sort(PyValues.truthy(kw.get("reverse")) ? c.reversed() : c);
                yield l;
            }
            case "sum" -> {
                Object total = args.size() > 1 ? args.get(1) : 0L;
                for (Object x : PyValues.iterate(v, line)) {
                    total = Arithmetic.apply("+", total, x, line);
                }
                yield total;
            }
            case "min", "max" -> {
                List<Object> l = PyValues.iterate(v, line);
                if (l.isEmpty()) {
                    yield new Undefined(name);
                }
                Object best = l.get(0);
                for (Object x : l) {
                    int c = PyValues.compare(x, best, line);
                    if (name.equals("min") ? c < 0 : c > 0) {
                        best = x;
                    }
                }
                yield best;
            }
            case "abs" -> v instanceof Double d ? Math.abs(d) : Math.abs(PyValues.toLong(v));
            case "int" -> toInt(v);
            case "float" -> v instanceof String s ? Double.parseDouble(s.trim()) : PyValues.toDouble(v);
            case "round" -> {
                int prec = args.isEmpty() ? 0 : (int) PyValues.toLong(args.get(0));
                yield new java.math.BigDecimal(PyValues.toDouble(v)).setScale(prec, java.math.RoundingMode.HALF_EVEN).doubleValue();
            }
            case "indent" -> indent(PyValues.str(v), args, kw);
            case "wordcount" -> (long) org.sft4j.base.PyStrings.split(PyValues.str(v)).size();
            case "attr" -> Attributes.getAttr(v, PyValues.str(args.get(0)), line);
            case "batch" -> {
                List<Object> l = PyValues.iterate(v, line);
                int n = (int) PyValues.toLong(args.get(0));
                List<Object> out = new ArrayList<>();
                for (int i = 0; i < l.size(); i += n) {
                    out.add(new ArrayList<>(l.subList(i, Math.min(l.size(), i + n))));
                }
                yield out;
            }
            case "format" -> Methods.percentFormat(PyValues.str(v), args, line);
            default -> throw new TemplateException("filter '" + name + "' is not supported by sft4j's template engine", line);
        };
    }

    private static Object arg(List<Object> args, Map<String, Object> kw, int i, String name) {
        return args.size() > i ? args.get(i) : kw.get(name);
    }

    private static Integer intOrNull(Object o) {
        return o == null ? null : (int) PyValues.toLong(o);
    }

    private static long toInt(Object v) {
        if (v instanceof String s) {
            try {
                return Long.parseLong(s.trim());
            } catch (NumberFormatException e) {
                return 0;
            }
        }
        return v instanceof Double d ? (long) d.doubleValue() : PyValues.toLong(v);
    }

    private Object map(Object v, List<Object> args, Map<String, Object> kw, int line) {
        List<Object> out = new ArrayList<>();
        if (kw.containsKey("attribute")) {
            for (Object x : PyValues.iterate(v, line)) {
                Object r = Attributes.getItem(x, kw.get("attribute"), line);
                out.add(r instanceof Undefined && kw.containsKey("default") ? kw.get("default") : r);
            }
            return out;
        }
        String filter = PyValues.str(args.get(0));
        for (Object x : PyValues.iterate(v, line)) {
            out.add(apply(filter, x, args.subList(1, args.size()), Map.of(), line));
        }
        return out;
    }

    private Object selectOrReject(Object v, List<Object> args, boolean select, boolean attr, int line) {
        List<Object> out = new ArrayList<>();
        for (Object x : PyValues.iterate(v, line)) {
            Object subject = attr ? Attributes.getItem(x, args.get(0), line) : x;
            List<Object> rest = args.subList(attr ? 1 : 0, args.size());
            boolean ok = rest.isEmpty() ? PyValues.truthy(subject)
                    : tests.apply(PyValues.str(rest.get(0)), subject, rest.subList(1, rest.size()), line);
            if (ok == select) {
                out.add(x);
            }
        }
        return out;
    }

    private static String indent(String s, List<Object> args, Map<String, Object> kw) {
        Object w = args.isEmpty() ? kw.getOrDefault("width", 4L) : args.get(0);
        String pad = w instanceof String ws ? ws : " ".repeat((int) PyValues.toLong(w));
        boolean first = PyValues.truthy(args.size() > 1 ? args.get(1) : kw.get("first"));
        boolean blank = PyValues.truthy(args.size() > 2 ? args.get(2) : kw.get("blank"));
        String[] lines = s.split("\n", -1);
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < lines.length; i++) {
            if (i > 0) {
                sb.append('\n');
            }
            boolean doPad = (i > 0 || first) && (blank || !lines[i].isEmpty());
            sb.append(doPad ? pad : "").append(lines[i]);
        }
        return sb.toString();
    }

    static String title(String s) {
        StringBuilder sb = new StringBuilder();
        boolean prevLetter = false;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            sb.append(prevLetter ? Character.toLowerCase(c) : Character.toUpperCase(c));
            prevLetter = Character.isLetter(c);
        }
        return sb.toString();
    }

    private static String escape(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&#34;").replace("'", "&#39;");
    }

    Interpreter interpreter() {
        return interpreter;
    }
}
