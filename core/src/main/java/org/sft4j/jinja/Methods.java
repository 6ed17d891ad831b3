package org.sft4j.jinja;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The read-only Python methods templates call on values: {@code str.startswith/strip/split/...},
 * {@code dict.get/items/keys/values}, {@code list.count/index}. Mutating methods ({@code list.append},
 * {@code dict.update}) are refused as jinja2's ImmutableSandboxedEnvironment refuses them.
 */
final class Methods {

    private static final java.util.Set<String> MUTATING = java.util.Set.of("append", "extend", "insert", "pop", "remove",
            "clear", "update", "setdefault", "popitem", "sort", "reverse");

    private Methods() {}

    /** A callable bound to {@code obj} for {@code name}, or null when the value has no such method. */
    static JinjaCallable bind(Object obj, String name, int line) {
        if (obj instanceof String s) {
            return string(s, name, line);
        }
        if (obj instanceof Map<?, ?> m) {
            return switch (name) {
                case "get" -> (a, kw) -> m.containsKey(a.get(0)) ? m.get(a.get(0)) : a.size() > 1 ? a.get(1) : null;
                case "items" -> (a, kw) -> {
                    List<Object> r = new ArrayList<>();
                    m.forEach((k, v) -> r.add(java.util.Collections.unmodifiableList(java.util.Arrays.asList(k, v))));
                    return r;
                };
                case "keys" -> (a, kw) -> new ArrayList<Object>(m.keySet());
                case "values" -> (a, kw) -> new ArrayList<Object>(m.values());
                default -> refuse(name, line);
            };
        }
        if (obj instanceof List<?> l) {
            return switch (name) {
                case "count" -> (a, kw) -> l.stream().filter(x -> PyValues.equal(x, a.get(0))).count();
                case "index" -> (a, kw) -> {
                    for (int i = 0; i < l.size(); i++) {
                        if (PyValues.equal(l.get(i), a.get(0))) {
                            return (long) i;
                        }
                    }
                    throw new TemplateException(PyValues.repr(a.get(0)) + " is not in list", line);
                };
                default -> refuse(name, line);
            };
        }
        return null;
    }

    private static JinjaCallable refuse(String name, int line) {
        if (MUTATING.contains(name)) {
            return (a, kw) -> {
                throw new TemplateException("access to '" + name + "' is unsafe in a sandboxed template "
                        + "(the value cannot be modified)", line);
            };
        }
        return null;
    }

    private static JinjaCallable string(String s, String name, int line) {
        return switch (name) {
            case "startswith" -> (a, kw) -> anyMatch(a.get(0), p -> s.startsWith(p));
            case "endswith" -> (a, kw) -> anyMatch(a.get(0), p -> s.endsWith(p));
            case "strip" -> (a, kw) -> strip(s, arg(a, 0), true, true);
            case "lstrip" -> (a, kw) -> strip(s, arg(a, 0), true, false);
            case "rstrip" -> (a, kw) -> strip(s, arg(a, 0), false, true);
            case "split" -> (a, kw) -> split(s, arg(a, 0), a.size() > 1 ? (int) PyValues.toLong(a.get(1)) : -1);
            case "rsplit" -> (a, kw) -> {
                if (a.size() > 1) {
                    throw new TemplateException("str.rsplit with maxsplit is not supported", line);
                }
                return split(s, arg(a, 0), -1);
            };
            case "splitlines" -> (a, kw) -> splitLines(s);
            case "upper" -> (a, kw) -> s.toUpperCase(java.util.Locale.ROOT);
            case "lower" -> (a, kw) -> s.toLowerCase(java.util.Locale.ROOT);
            case "title" -> (a, kw) -> Filters.title(s);
            case "capitalize" -> (a, kw) -> s.isEmpty() ? s
                    : s.substring(0, 1).toUpperCase(java.util.Locale.ROOT) + s.substring(1).toLowerCase(java.util.Locale.ROOT);
            case "replace" -> (a, kw) -> {
                String from = PyValues.str(a.get(0));
                String to = PyValues.str(a.get(1));
                if (a.size() > 2) {
                    long n = PyValues.toLong(a.get(2));
                    String r = s;
                    int idx = 0;
                    StringBuilder sb = new StringBuilder();
                    for (long k = 0; k < n; k++) {
                        int j = r.indexOf(from, idx);
                        if (j < 0) {
                            break;
                        }
                        sb.append(r, idx, j).append(to);
                        idx = j + from.length();
                    }
                    return sb.append(r.substring(idx)).toString();
                }
                return s.replace(from, to);
            };
            case "find" -> (a, kw) -> (long) s.indexOf(PyValues.str(a.get(0)));
            case "rfind" -> (a, kw) -> (long) s.lastIndexOf(PyValues.str(a.get(0)));
            case "count" -> (a, kw) -> {
                String sub = PyValues.str(a.get(0));
                if (sub.isEmpty()) {
                    return (long) s.codePointCount(0, s.length()) + 1;
                }
                long n = 0;
                for (int i = s.indexOf(sub); i >= 0; i = s.indexOf(sub, i + sub.length())) {
                    n++;
                }
                return n;
            };
            case "join" -> (a, kw) -> {
                StringBuilder sb = new StringBuilder();
                List<Object> items = PyValues.iterate(a.get(0), line);
                for (int i = 0; i < items.size(); i++) {
                    sb.append(i > 0 ? s : "").append(PyValues.str(items.get(i)));
                }
                return sb.toString();
            };
            case "isdigit" -> (a, kw) -> !s.isEmpty() && s.chars().allMatch(Character::isDigit);
            case "isspace" -> (a, kw) -> !s.isEmpty() && s.chars().allMatch(Character::isWhitespace);
            case "isalpha" -> (a, kw) -> !s.isEmpty() && s.chars().allMatch(Character::isLetter);
            case "islower" -> (a, kw) -> s.equals(s.toLowerCase(java.util.Locale.ROOT)) && !s.equals(s.toUpperCase(java.util.Locale.ROOT));
            case "isupper" -> (a, kw) -> s.equals(s.toUpperCase(java.util.Locale.ROOT)) && !s.equals(s.toLowerCase(java.util.Locale.ROOT));
            case "format" -> (a, kw) -> format(s, a, kw, line);
            default -> null;
        };
    }

    private static String arg(List<Object> a, int i) {
        return a.size() > i && a.get(i) != null ? PyValues.str(a.get(i)) : null;
    }

    private static boolean anyMatch(Object prefix, java.util.function.Predicate<String> test) {
        if (prefix instanceof List<?> l) {
            return l.stream().anyMatch(p -> test.test(PyValues.str(p)));
        }
        return test.test(PyValues.str(prefix));
    }

    /** {@code str.strip(chars)}: chars null means Python whitespace. */
    static String strip(String s, String chars, boolean left, boolean right) {
        int start = 0;
        int end = s.length();
        while (left && start < end && isStripped(s.charAt(start), chars)) {
            start++;
        }
        while (right && end > start && isStripped(s.charAt(end - 1), chars)) {
            end--;
        }
        return s.substring(start, end);
    }

    private static boolean isStripped(char c, String chars) {
        return chars == null ? org.sft4j.base.PyStrings.isSpace(c) : chars.indexOf(c) >= 0;
    }

    /** {@code str.splitlines()}: \n, \r\n and \r end lines; no empty entry after a final line break. */
    static List<Object> splitLines(String s) {
        List<Object> out = new ArrayList<>();
        int start = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\n' || c == '\r') {
                out.add(s.substring(start, i));
                if (c == '\r' && i + 1 < s.length() && s.charAt(i + 1) == '\n') {
                    i++;
                }
                start = i + 1;
            }
        }
        if (start < s.length()) {
            out.add(s.substring(start));
        }
        return out;
    }

    /** {@code str.split(sep, maxsplit)}: sep null splits on whitespace runs. */
    static List<Object> split(String s, String sep, int max) {
        List<Object> out = new ArrayList<>();
        if (sep == null) {
            List<String> parts = org.sft4j.base.PyStrings.split(s);
            if (max < 0 || parts.size() <= max + 1) {
                out.addAll(parts);
                return out;
            }
            // keep the remainder unsplit after max separators
            String rest = s.stripLeading();
            for (int k = 0; k < max; k++) {
                String p = parts.get(k);
                out.add(p);
                rest = rest.substring(rest.indexOf(p) + p.length()).stripLeading();
            }
            out.add(rest);
            return out;
        }
        if (sep.isEmpty()) {
            throw new TemplateException("empty separator", 0);
        }
        int idx = 0;
        int n = 0;
        while (max < 0 || n < max) {
            int j = s.indexOf(sep, idx);
            if (j < 0) {
                break;
            }
            out.add(s.substring(idx, j));
            idx = j + sep.length();
            n++;
        }
        out.add(s.substring(idx));
        return out;
    }

    /** {@code str.format} with {}, {0} and {name} fields (no format specs). */
    private static String format(String fmt, List<Object> args, Map<String, Object> kw, int line) {
        StringBuilder sb = new StringBuilder();
        int auto = 0;
        for (int i = 0; i < fmt.length(); i++) {
            char c = fmt.charAt(i);
            if (c == '{' && i + 1 < fmt.length() && fmt.charAt(i + 1) == '{') {
                sb.append('{');
                i++;
            } else if (c == '}' && i + 1 < fmt.length() && fmt.charAt(i + 1) == '}') {
                sb.append('}');
                i++;
            } else if (c == '{') {
                int close = fmt.indexOf('}', i);
                String field = fmt.substring(i + 1, close);
                if (field.contains(":") || field.contains("!")) {
                    throw new TemplateException("format specs in str.format are not supported: {" + field + "}", line);
                }
                Object v = field.isEmpty() ? args.get(auto++) : field.chars().allMatch(Character::isDigit)
                        ? args.get(Integer.parseInt(field)) : kw.get(field);
                sb.append(PyValues.str(v));
                i = close;
            } else {
                sb.append(c);
            }
        }
        return sb.toString();
    }

    /** {@code 'fmt' % args} with %s, %d, %r and %%. */
    static String percentFormat(String fmt, List<Object> args, int line) {
        StringBuilder sb = new StringBuilder();
        int k = 0;
        for (int i = 0; i < fmt.length(); i++) {
            char c = fmt.charAt(i);
            if (c != '%') {
                sb.append(c);
                continue;
            }
            char t = fmt.charAt(++i);
            switch (t) {
                case '%' -> sb.append('%');
                case 's' -> sb.append(PyValues.str(args.get(k++)));
                case 'r' -> sb.append(PyValues.repr(args.get(k++)));
                case 'd', 'i' -> sb.append(PyValues.toLong(args.get(k++)));
                default -> throw new TemplateException("'%" + t + "' formatting is not supported", line);
            }
        }
        return sb.toString();
    }
}
