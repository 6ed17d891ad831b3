package org.sft4j.config;

import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import org.sft4j.base.UserError;

import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * A config's errors in the user's words: the file, cell or flag that set the key, the key, and what it
 * accepts (never Jackson's "Cannot deserialize value of type `java.lang.Double` ... TrainArgs[...]").
 */
final class ConfigErrors {

    private ConfigErrors() {}

    static UserError invalid(List<ConfigChecks.Problem> problems, Map<String, String> origins) {
        // a key the user set explains the rest (lora_rank: 0 makes the default lora_alpha 0 too)
        boolean anyGiven = problems.stream().anyMatch(p -> origins.containsKey(p.key()));
        return new UserError(problems.stream().filter(p -> !anyGiven || origins.containsKey(p.key()))
                .map(p -> origin(p.key(), origins) + ": " + p.message()).collect(Collectors.joining("\n")));
    }

    /** A value Jackson could not turn into its record field, or a record constructor's own refusal. */
    static UserError conversion(IllegalArgumentException e, Map<String, Object> values,
                                               Map<String, String> origins) {
        Throwable cause = e.getCause();
        if (cause instanceof MismatchedInputException mi && !mi.getPath().isEmpty()) {
            String key = mi.getPath().get(mi.getPath().size() - 1).getFieldName();
            if (key != null) {
                return new UserError(origin(key, origins) + ": " + key + " must be "
                        + expected(mi.getTargetType()) + ", got " + shown(values.get(key)), e);
            }
        }
        Throwable root = e;
        while (root.getCause() != null) {
            root = root.getCause();
        }
        String message = root instanceof JsonMappingException jm ? jm.getOriginalMessage() : root.getMessage();
        // the records' own checks start with their key: "overlong must be drop, truncate or error, got 'x'",
        // "precision: bf16-mixed and pure_bf16: true disagree ..."
        String first = message.split("[ ':]", 2)[0];
        return new UserError(origin(first, origins) + ": " + message, e);
    }

    private static String origin(String key, Map<String, String> origins) {
        return origins.getOrDefault(key, "config");
    }

    private static String expected(Class<?> type) {
        if (type == null) {
            return "a single value";
        }
        if (type == Double.class || type == double.class || type == Float.class || type == float.class) {
            return "a number";
        }
        if (type == Integer.class || type == int.class || type == Long.class || type == long.class) {
            return "a whole number";
        }
        if (type == Boolean.class || type == boolean.class) {
            return "true or false";
        }
        return "text";
    }

    private static String shown(Object v) {
        return v instanceof String s ? "'" + s + "'" : String.valueOf(v);
    }
}
