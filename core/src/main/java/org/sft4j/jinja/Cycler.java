package org.sft4j.jinja;

import java.util.List;

/** jinja2's {@code cycler(a, b, ...)}: {@code .next()} returns the items in turn, {@code .current} the one due next. */
final class Cycler {

    private final List<Object> items;
    private int pos;

    Cycler(List<Object> items) {
        this.items = List.copyOf(items);
    }

    Object attr(String name) {
        return switch (name) {
            case "items" -> items;
            case "current" -> items.get(pos);
            case "next" -> (JinjaCallable) (a, kw) -> {
                Object r = items.get(pos);
                pos = (pos + 1) % items.size();
                return r;
            };
            case "reset" -> (JinjaCallable) (a, kw) -> {
                pos = 0;
                return null;
            };
            default -> new Undefined(name);
        };
    }
}
