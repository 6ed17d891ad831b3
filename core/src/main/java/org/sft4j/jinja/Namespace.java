package org.sft4j.jinja;

import java.util.LinkedHashMap;
import java.util.Map;

/** jinja2's {@code namespace()}: an object whose attributes {@code {% set ns.x = ... %}} can change from any scope. */
final class Namespace {

    final Map<String, Object> attrs = new LinkedHashMap<>();

    @Override
    public String toString() {
        return "<Namespace " + attrs + ">";
    }
}
