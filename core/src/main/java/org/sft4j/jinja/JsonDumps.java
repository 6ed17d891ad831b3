package org.sft4j.jinja;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Python's {@code json.dumps(x, ensure_ascii=False, indent=..., separators=..., sort_keys=...)}, which
 * is what transformers registers as the {@code tojson} filter (jinja2's own would HTML-escape).
 */
final class JsonDumps {

    private JsonDumps() {}

    static String dumps(Object v, Integer indent, String itemSep, String keySep, boolean sortKeys, int line) {
        if (itemSep == null) {
            itemSep = indent == null ? ", " : ",";
        }
        if (keySep == null) {
            keySep = ": ";
        }
        StringBuilder sb = new StringBuilder();
        write(sb, v, indent, itemSep, keySep, sortKeys, 0, line);
        return sb.toString();
    }

    private static void write(StringBuilder sb, Object v, Integer indent, String itemSep, String keySep, boolean sort,
                              int level, int line) {
        if (v == null) {
            sb.append("null");
        } else if (v instanceof Boolean b) {
            sb.append(b ? "true" : "false");
        } else if (v instanceof Long || v instanceof Integer) {
            sb.append(v);
        } else if (v instanceof Double d) {
            sb.append(Double.isNaN(d) ? "NaN" : Double.isInfinite(d) ? (d > 0 ? "Infinity" : "-Infinity") : PyValues.floatRepr(d));
        } else if (v instanceof String s) {
            string(sb, s);
        } else if (v instanceof List<?> l) {
            if (l.isEmpty()) {
                sb.append("[]");
                return;
            }
            sb.append('[');
            for (int i = 0; i < l.size(); i++) {
                if (i > 0) {
                    sb.append(itemSep);
                }
                newline(sb, indent, level + 1);
                write(sb, l.get(i), indent, itemSep, keySep, sort, level + 1, line);
            }
            newline(sb, indent, level);
            sb.append(']');
        } else if (v instanceof Map<?, ?> m) {
            if (m.isEmpty()) {
                sb.append("{}");
                return;
            }
            List<Map.Entry<?, ?>> entries = new ArrayList<>(m.entrySet());
            if (sort) {
                entries.sort((a, b) -> PyValues.compare(a.getKey(), b.getKey(), line));
            }
            sb.append('{');
            int i = 0;
            for (Map.Entry<?, ?> e : entries) {
                if (i++ > 0) {
                    sb.append(itemSep);
                }
                newline(sb, indent, level + 1);
                Object k = e.getKey();
                string(sb, k instanceof String ks ? ks : PyValues.str(k));
                sb.append(keySep);
                write(sb, e.getValue(), indent, itemSep, keySep, sort, level + 1, line);
            }
            newline(sb, indent, level);
            sb.append('}');
        } else if (v instanceof Undefined u) {
            throw new TemplateException("Object of type Undefined ('" + u.name + "') is not JSON serializable", line);
        } else {
            throw new TemplateException("Object of type " + PyValues.typeName(v) + " is not JSON serializable", line);
        }
    }

    private static void newline(StringBuilder sb, Integer indent, int level) {
        if (indent != null) {
            sb.append('\n').append(" ".repeat(indent * level));
        }
    }

    private static void string(StringBuilder sb, String s) {
        sb.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                case '\b' -> sb.append("\\b");
                case '\f' -> sb.append("\\f");
                default -> {
                    if (c < 0x20) {
                        sb.append(String.format("\\u%04x", (int) c));
                    } else {
                        sb.append(c);
                    }
                }
            }
        }
        sb.append('"');
    }
}
