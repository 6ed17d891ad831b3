package org.sft4j.config;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;

import java.util.Locale;
import java.util.Optional;

/**
 * LLaMA-Factory's {@code enable_thinking} for reasoning models (Qwen3): {@code true} (its default, "slow thinking"),
 * {@code false} ("fast thinking"), or {@code auto} (LLaMA-Factory's None, also written {@code null}): per example,
 * slow when the answer carries reasoning and fast otherwise.
 */
public enum EnableThinking {
    TRUE, FALSE, AUTO;

    @JsonCreator
    public static EnableThinking of(Object value) {
        String v = value == null ? "auto" : String.valueOf(value).trim().toLowerCase(Locale.ROOT);
        return switch (v) {
            case "true" -> TRUE;
            case "false" -> FALSE;
            case "auto", "none", "null" -> AUTO;
            default -> throw new IllegalArgumentException("enable_thinking '" + value + "' must be true, false or auto");
        };
    }

    /** The value the chat template receives as its {@code enable_thinking} kwarg; none under {@code auto}. */
    public Optional<Boolean> templateKwarg() {
        return this == AUTO ? Optional.empty() : Optional.of(this == TRUE);
    }

    @JsonValue
    public String key() {
        return name().toLowerCase(Locale.ROOT);
    }
}
