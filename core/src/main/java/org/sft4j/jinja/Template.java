package org.sft4j.jinja;

import java.time.Clock;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A Jinja template compiled the way transformers compiles chat templates: {@code trim_blocks},
 * {@code lstrip_blocks}, loop controls, the {@code generation} tag, and the globals
 * {@code raise_exception}, {@code strftime_now} and jinja2's own ({@code namespace}, {@code range}, {@code dict},
 * {@code cycler}, {@code joiner}, {@code lipsum}).
 *
 * <p>Hand-written because no Java Jinja engine renders Hugging Face templates exactly (Jinjava
 * differs on whitespace control, {@code not x is defined}, {@code tojson} and string methods; see
 * notes/djl-engine-findings.md 4.1). Unsupported constructs fail with a {@link TemplateException}
 * naming the line, never with silently different text.
 */
public final class Template {

    private final List<Node> body;
    private final Clock clock;

    private Template(List<Node> body, Clock clock) {
        this.body = body;
        this.clock = clock;
    }

    /** Parses {@code source}; throws {@link TemplateException} with the line of the first problem. */
    public static Template compile(String source) {
        return compile(source, Clock.systemDefaultZone());
    }

    /** As {@link #compile(String)}, with the clock {@code strftime_now} reads (fixed in tests). */
    public static Template compile(String source, Clock clock) {
        List<Token> tokens = new Lexer(source, true, true).tokenize();
        return new Template(new Parser(tokens).parseTemplate(), clock);
    }

    /** The rendered text and the character spans of {@code {% generation %}} blocks. */
    public record Rendered(String text, List<int[]> generationSpans) {}

    public String render(Map<String, Object> vars) {
        return renderWithSpans(vars).text();
    }

    public Rendered renderWithSpans(Map<String, Object> vars) {
        Interpreter in = new Interpreter(globals(), toTemplateValues(vars));
        in.run(body);
        return new Rendered(in.output(), in.generationSpans());
    }

    private Map<String, Object> globals() {
        Map<String, Object> g = new HashMap<>();
        g.put("raise_exception", (JinjaCallable) (a, kw) -> {
            throw new TemplateException("the template raised: " + (a.isEmpty() ? "" : PyValues.str(a.get(0))), 0);
        });
        g.put("strftime_now", (JinjaCallable) (a, kw) -> Strftime.format(PyValues.str(a.get(0)), ZonedDateTime.now(clock)));
        g.put("namespace", (JinjaCallable) (a, kw) -> {
            Namespace ns = new Namespace();
            if (!a.isEmpty() && a.get(0) instanceof Map<?, ?> m) {
                m.forEach((k, v) -> ns.attrs.put(PyValues.str(k), v));
            }
            ns.attrs.putAll(kw);
            return ns;
        });
        g.put("range", (JinjaCallable) (a, kw) -> {
            long start = a.size() > 1 ? PyValues.toLong(a.get(0)) : 0;
            long stop = PyValues.toLong(a.get(a.size() > 1 ? 1 : 0));
            long step = a.size() > 2 ? PyValues.toLong(a.get(2)) : 1;
            List<Object> r = new ArrayList<>();
            for (long i = start; step > 0 ? i < stop : i > stop; i += step) {
                r.add(i);
            }
            return r;
        });
        g.put("dict", (JinjaCallable) (a, kw) -> new LinkedHashMap<Object, Object>(kw));
        g.put("cycler", (JinjaCallable) (a, kw) -> {
            if (a.isEmpty()) {
                throw new TemplateException("cycler() needs at least one item", 0);
            }
            return new Cycler(a);
        });
        g.put("joiner", (JinjaCallable) (a, kw) -> {
            String sep = a.isEmpty() ? PyValues.str(kw.getOrDefault("sep", ", ")) : PyValues.str(a.get(0));
            boolean[] used = new boolean[1];
            return (JinjaCallable) (b, kw2) -> {
                boolean first = !used[0];
                used[0] = true;
                return first ? "" : sep;
            };
        });
        // defined, as in jinja2, so `lipsum is defined` agrees; its random text has no place in a chat template
        g.put("lipsum", (JinjaCallable) (a, kw) -> {
            throw new TemplateException("lipsum() (random placeholder text) is not supported by sft4j's template engine", 0);
        });
        return g;
    }

    /** Converts Java inputs (Integer, Map of any, arrays) to the value model the interpreter uses. */
    @SuppressWarnings("unchecked")
    static Map<String, Object> toTemplateValues(Map<String, Object> vars) {
        Map<String, Object> out = new HashMap<>();
        vars.forEach((k, v) -> out.put(k, convert(v)));
        return out;
    }

    private static Object convert(Object v) {
        if (v instanceof Integer i) {
            return (long) i;
        }
        if (v instanceof Float f) {
            return (double) f;
        }
        if (v instanceof Map<?, ?> m) {
            Map<Object, Object> r = new LinkedHashMap<>();
            m.forEach((k, x) -> r.put(k, convert(x)));
            return r;
        }
        if (v instanceof List<?> l) {
            List<Object> r = new ArrayList<>();
            l.forEach(x -> r.add(convert(x)));
            return r;
        }
        return v;
    }
}
