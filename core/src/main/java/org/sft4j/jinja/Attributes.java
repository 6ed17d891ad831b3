package org.sft4j.jinja;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Attribute and item access as jinja2's sandboxed environment does it: {@code x.name} tries a Python
 * attribute (a method of str/dict/list) then {@code x['name']}; {@code x[k]} tries the item then the
 * attribute. A missing one is undefined; using an attribute of an undefined value is an error.
 */
final class Attributes {

    private Attributes() {}

    static Object getAttr(Object obj, String name, int line) {
        if (obj instanceof Undefined u) {
            throw u.error(line);
        }
        Object method = Methods.bind(obj, name, line);
        if (method != null) {
            return method;
        }
        if (obj instanceof Namespace ns) {
            return ns.attrs.containsKey(name) ? ns.attrs.get(name) : new Undefined(name);
        }
        if (obj instanceof Cycler c) {
            return c.attr(name);
        }
        if (obj instanceof Map<?, ?> m) {
            return m.containsKey(name) ? m.get(name) : new Undefined(name);
        }
        return new Undefined(name);
    }

    static Object getItem(Object obj, Object key, int line) {
        if (obj instanceof Undefined u) {
            throw u.error(line);
        }
        if (obj instanceof Map<?, ?> m) {
            if (m.containsKey(key)) {
                return m.get(key);
            }
        } else if (obj instanceof List<?> l && PyValues.isNumber(key) && !(key instanceof Double)) {
            int i = (int) PyValues.toLong(key);
            if (i < 0) {
                i += l.size();
            }
            if (i >= 0 && i < l.size()) {
                return l.get(i);
            }
            return new Undefined("[" + key + "]");
        } else if (obj instanceof String s && PyValues.isNumber(key) && !(key instanceof Double)) {
            int[] cps = s.codePoints().toArray();
            int i = (int) PyValues.toLong(key);
            if (i < 0) {
                i += cps.length;
            }
            if (i >= 0 && i < cps.length) {
                return new String(cps, i, 1);
            }
            return new Undefined("[" + key + "]");
        } else if (obj instanceof Namespace ns && key instanceof String k) {
            return ns.attrs.containsKey(k) ? ns.attrs.get(k) : new Undefined(k);
        }
        if (key instanceof String k) {
            Object method = Methods.bind(obj, k, line);
            if (method != null) {
                return method;
            }
        }
        return new Undefined(PyValues.str(key));
    }

    /** Python slicing {@code x[start:stop:step]} of lists and strings. */
    static Object slice(Object obj, Object start, Object stop, Object step, int line) {
        if (obj instanceof Undefined u) {
            throw u.error(line);
        }
        List<Object> items;
        boolean isString = obj instanceof String;
        if (isString) {
            items = PyValues.iterate(obj, line);
        } else if (obj instanceof List<?> l) {
            items = new ArrayList<>(l);
        } else {
            throw new TemplateException("'" + PyValues.typeName(obj) + "' object is not subscriptable", line);
        }
        int n = items.size();
        long st = step == null ? 1 : PyValues.toLong(step);
        if (st == 0) {
            throw new TemplateException("slice step cannot be zero", line);
        }
        long a;
        long b;
        if (st > 0) {
            a = start == null ? 0 : clamp(PyValues.toLong(start), n, 0, n);
            b = stop == null ? n : clamp(PyValues.toLong(stop), n, 0, n);
        } else {
            a = start == null ? n - 1 : clamp(PyValues.toLong(start), n, -1, n - 1);
            b = stop == null ? -1 : clamp(PyValues.toLong(stop), n, -1, n - 1);
        }
        List<Object> out = new ArrayList<>();
        for (long i = a; st > 0 ? i < b : i > b; i += st) {
            out.add(items.get((int) i));
        }
        if (isString) {
            StringBuilder sb = new StringBuilder();
            out.forEach(sb::append);
            return sb.toString();
        }
        return out;
    }

    private static long clamp(long i, int n, long lo, long hi) {
        if (i < 0) {
            i += n;
        }
        return Math.max(lo, Math.min(hi, i));
    }
}
