package org.sft4j.jinja;

import java.util.List;
import java.util.Map;

/** A function callable from a template (a global such as {@code raise_exception}, a macro, a bound method). */
@FunctionalInterface
public interface JinjaCallable {

    Object call(List<Object> args, Map<String, Object> kwargs);
}
