package org.sft4j.jinja;

import org.sft4j.jinja.Node.Expr;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Executes a parsed template. Scopes follow jinja2: a for-loop body and a macro get their own frame
 * (a {@code set} inside them is not seen outside), {@code if} does not; {@code namespace()} objects are
 * how templates carry values out of loops.
 */
final class Interpreter {

    private static final class BreakSignal extends RuntimeException {
        BreakSignal() {
            super(null, null, false, false);
        }
    }

    private static final class ContinueSignal extends RuntimeException {
        ContinueSignal() {
            super(null, null, false, false);
        }
    }

    private final Deque<Map<String, Object>> frames = new ArrayDeque<>();
    private final StringBuilder out = new StringBuilder();
    private final List<int[]> generationSpans = new ArrayList<>();
    private final Filters filters;
    private final Tests tests = new Tests();

    Interpreter(Map<String, Object> globals, Map<String, Object> vars) {
        frames.push(new HashMap<>(globals));
        frames.push(new HashMap<>(vars));
        this.filters = new Filters(this, tests);
    }

    String output() {
        return out.toString();
    }

    List<int[]> generationSpans() {
        return generationSpans;
    }

    void run(List<Node> body) {
        for (Node n : body) {
            exec(n);
        }
    }

    private void exec(Node n) {
        if (n instanceof Node.Text t) {
            out.append(t.text());
        } else if (n instanceof Node.Output o) {
            out.append(PyValues.str(eval(o.expr())));
        } else if (n instanceof Node.If f) {
            for (int k = 0; k < f.conditions().size(); k++) {
                if (PyValues.truthy(eval(f.conditions().get(k)))) {
                    run(f.bodies().get(k));
                    return;
                }
            }
            run(f.elseBody());
        } else if (n instanceof Node.For f) {
            execFor(f);
        } else if (n instanceof Node.Set s) {
            execSet(s);
        } else if (n instanceof Node.SetBlock s) {
            assign(s.target(), capture(s.body()));
        } else if (n instanceof Node.Macro m) {
            assign(m.name(), macro(m));
        } else if (n instanceof Node.Break) {
            throw new BreakSignal();
        } else if (n instanceof Node.Continue) {
            throw new ContinueSignal();
        } else if (n instanceof Node.FilterBlock fb) {
            String captured = capture(fb.body());
            out.append(PyValues.str(filters.apply(fb.filter(), captured, evalAll(fb.args()), Map.of(), fb.line())));
        } else if (n instanceof Node.Generation g) {
            int start = out.length();
            run(g.body());
            generationSpans.add(new int[] {start, out.length()});
        }
    }

    /** Runs {@code body} and returns what it printed instead of printing it. */
    private String capture(List<Node> body) {
        int start = out.length();
        run(body);
        String captured = out.substring(start);
        out.setLength(start);
        return captured;
    }

    private void execFor(Node.For f) {
        List<Object> items = new ArrayList<>();
        Object iterable = eval(f.iter());
        for (Object item : PyValues.iterate(iterable, f.line())) {
            if (f.filter() != null) {
                frames.push(new HashMap<>());
                try {
                    bindTargets(f.targets(), item, f.line());
                    if (!PyValues.truthy(eval(f.filter()))) {
                        continue;
                    }
                } finally {
                    frames.pop();
                }
            }
            items.add(item);
        }
        if (items.isEmpty()) {
            run(f.elseBody());
            return;
        }
        for (int k = 0; k < items.size(); k++) {
            Map<String, Object> frame = new HashMap<>();
            frame.put("loop", loopInfo(items, k));
            frames.push(frame);
            try {
                bindTargets(f.targets(), items.get(k), f.line());
                run(f.body());
            } catch (ContinueSignal c) {
                // next item
            } catch (BreakSignal b) {
                break;
            } finally {
                frames.pop();
            }
        }
    }

    private static Map<String, Object> loopInfo(List<Object> items, int k) {
        int n = items.size();
        Map<String, Object> loop = new LinkedHashMap<>();
        loop.put("index", (long) k + 1);
        loop.put("index0", (long) k);
        loop.put("revindex", (long) (n - k));
        loop.put("revindex0", (long) (n - k - 1));
        loop.put("first", k == 0);
        loop.put("last", k == n - 1);
        loop.put("length", (long) n);
        loop.put("depth", 1L);
        loop.put("depth0", 0L);
        loop.put("previtem", k > 0 ? items.get(k - 1) : new Undefined("loop.previtem"));
        loop.put("nextitem", k < n - 1 ? items.get(k + 1) : new Undefined("loop.nextitem"));
        loop.put("cycle", (JinjaCallable) (args, kw) -> args.get(k % args.size()));
        return loop;
    }

    private void bindTargets(List<String> targets, Object item, int line) {
        if (targets.size() == 1) {
            frames.peek().put(targets.get(0), item);
            return;
        }
        List<Object> parts = PyValues.iterate(item, line);
        if (parts.size() != targets.size()) {
            throw new TemplateException("cannot unpack " + parts.size() + " values into " + targets.size(), line);
        }
        for (int k = 0; k < targets.size(); k++) {
            frames.peek().put(targets.get(k), parts.get(k));
        }
    }

    private void execSet(Node.Set s) {
        Object value = eval(s.value());
        if (s.attribute() != null) {
            Object target = lookup(s.targets().get(0), s.line());
            if (!(target instanceof Namespace ns)) {
                throw new TemplateException("cannot assign attribute on non-namespace object '" + s.targets().get(0) + "'",
                        s.line());
            }
            ns.attrs.put(s.attribute(), value);
            return;
        }
        if (s.targets().size() == 1) {
            assign(s.targets().get(0), value);
            return;
        }
        List<Object> parts = PyValues.iterate(value, s.line());
        for (int k = 0; k < s.targets().size(); k++) {
            assign(s.targets().get(k), parts.get(k));
        }
    }

    private void assign(String name, Object value) {
        frames.peek().put(name, value);
    }

    Object lookup(String name, int line) {
        for (Map<String, Object> f : frames) {
            if (f.containsKey(name)) {
                return f.get(name);
            }
        }
        return new Undefined(name);
    }

    private JinjaCallable macro(Node.Macro m) {
        return (args, kwargs) -> {
            Map<String, Object> frame = new HashMap<>();
            for (int k = 0; k < m.params().size(); k++) {
                String p = m.params().get(k);
                if (k < args.size()) {
                    frame.put(p, args.get(k));
                } else if (kwargs.containsKey(p)) {
                    frame.put(p, kwargs.get(p));
                } else if (m.defaults().get(k) != null) {
                    frame.put(p, eval(m.defaults().get(k)));
                } else {
                    frame.put(p, new Undefined(p));
                }
            }
            frame.put("varargs", new ArrayList<>(args.subList(Math.min(args.size(), m.params().size()), args.size())));
            frame.put("kwargs", new LinkedHashMap<>(kwargs));
            int start = out.length();
            frames.push(frame);
            try {
                run(m.body());
            } finally {
                frames.pop();
            }
            String result = out.substring(start);
            out.setLength(start);
            return result;
        };
    }

    // ---- expressions -------------------------------------------------------------------------

    Object eval(Expr e) {
        if (e instanceof Node.Literal l) {
            return l.value();
        }
        if (e instanceof Node.Name n) {
            return lookup(n.name(), n.line());
        }
        if (e instanceof Node.ListExpr l) {
            List<Object> items = evalAll(l.items());
            return l.tuple() ? java.util.Collections.unmodifiableList(items) : items;
        }
        if (e instanceof Node.DictExpr d) {
            Map<Object, Object> m = new LinkedHashMap<>();
            for (int k = 0; k < d.keys().size(); k++) {
                m.put(eval(d.keys().get(k)), eval(d.values().get(k)));
            }
            return m;
        }
        if (e instanceof Node.GetAttr g) {
            return Attributes.getAttr(eval(g.target()), g.attr(), g.line());
        }
        if (e instanceof Node.GetItem g) {
            return Attributes.getItem(eval(g.target()), eval(g.index()), g.line());
        }
        if (e instanceof Node.Slice s) {
            return Attributes.slice(eval(s.target()), s.start() == null ? null : eval(s.start()),
                    s.stop() == null ? null : eval(s.stop()), s.step() == null ? null : eval(s.step()), s.line());
        }
        if (e instanceof Node.Call c) {
            return call(c);
        }
        if (e instanceof Node.Filter f) {
            return filters.apply(f.name(), eval(f.target()), evalAll(f.args()), kwargs(f.kwNames(), f.kwValues()),
                    f.line());
        }
        if (e instanceof Node.Test t) {
            boolean r = tests.apply(t.name(), eval(t.target()), evalAll(t.args()), t.line());
            return t.negated() != r;
        }
        if (e instanceof Node.Unary u) {
            return unary(u);
        }
        if (e instanceof Node.Binary b) {
            return binary(b);
        }
        if (e instanceof Node.Compare c) {
            return compare(c);
        }
        if (e instanceof Node.Concat c) {
            StringBuilder sb = new StringBuilder();
            for (Expr p : c.parts()) {
                sb.append(PyValues.str(eval(p)));
            }
            return sb.toString();
        }
        Node.CondExpr c = (Node.CondExpr) e;
        return PyValues.truthy(eval(c.condition())) ? eval(c.then())
                : c.otherwise() == null ? new Undefined("<conditional>") : eval(c.otherwise());
    }

    List<Object> evalAll(List<Expr> exprs) {
        List<Object> r = new ArrayList<>();
        for (Expr e : exprs) {
            r.add(eval(e));
        }
        return r;
    }

    private Map<String, Object> kwargs(List<String> names, List<Expr> values) {
        Map<String, Object> m = new LinkedHashMap<>();
        for (int k = 0; k < names.size(); k++) {
            m.put(names.get(k), eval(values.get(k)));
        }
        return m;
    }

    private Object call(Node.Call c) {
        Object fn = eval(c.fn());
        if (fn instanceof JinjaCallable jc) {
            return jc.call(evalAll(c.args()), kwargs(c.kwNames(), c.kwValues()));
        }
        if (fn instanceof Undefined u) {
            throw new TemplateException("'" + u.name + "' is undefined and cannot be called", c.line());
        }
        throw new TemplateException("'" + PyValues.typeName(fn) + "' object is not callable", c.line());
    }

    private Object unary(Node.Unary u) {
        Object v = eval(u.operand());
        return switch (u.op()) {
            case "not" -> !PyValues.truthy(v);
            case "-" -> {
                if (v instanceof Long l) {
                    yield -l;
                }
                if (v instanceof Double d) {
                    yield -d;
                }
                throw new TemplateException("bad operand type for unary -: '" + PyValues.typeName(v) + "'", u.line());
            }
            default -> v;
        };
    }

    private Object binary(Node.Binary b) {
        if (b.op().equals("and")) {
            Object l = eval(b.left());
            return PyValues.truthy(l) ? eval(b.right()) : l;
        }
        if (b.op().equals("or")) {
            Object l = eval(b.left());
            return PyValues.truthy(l) ? l : eval(b.right());
        }
        return Arithmetic.apply(b.op(), eval(b.left()), eval(b.right()), b.line());
    }

    private Object compare(Node.Compare c) {
        Object left = eval(c.first());
        for (int k = 0; k < c.ops().size(); k++) {
            Object right = eval(c.rest().get(k));
            boolean ok = switch (c.ops().get(k)) {
                case "==" -> PyValues.equal(left, right);
                case "!=" -> !PyValues.equal(left, right);
                case "<" -> PyValues.compare(left, right, c.line()) < 0;
                case ">" -> PyValues.compare(left, right, c.line()) > 0;
                case "<=" -> PyValues.compare(left, right, c.line()) <= 0;
                case ">=" -> PyValues.compare(left, right, c.line()) >= 0;
                case "in" -> PyValues.contains(right, left, c.line());
                case "notin" -> !PyValues.contains(right, left, c.line());
                default -> throw new TemplateException("unknown comparison " + c.ops().get(k), c.line());
            };
            if (!ok) {
                return false;
            }
            left = right;
        }
        return true;
    }
}
