package org.sft4j.nd;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import org.sft4j.base.UserError;

import java.util.Arrays;
import java.util.Locale;

/**
 * Where a run uses 16-bit types, by the names Lightning gives its {@code precision} flag: {@code -mixed} keeps fp32
 * master weights (and optimizer moments) and computes matrix products and attention in 16 bits, as torch's autocast
 * does; {@code -true} stores the weights themselves in 16 bits, as transformers trains with {@code dtype=bfloat16}.
 * One word then says both the type and where it applies, which LLaMA-Factory's three booleans ({@code bf16},
 * {@code fp16}, {@code pure_bf16}) only say together.
 */
public enum Precision {
    /** fp32 throughout. */
    FP32("fp32"),
    /** bf16 products and attention over fp32 weights. */
    BF16_MIXED("bf16-mixed"),
    /** fp16 products and attention over fp32 weights, with dynamic loss scaling for fp16's narrow range. */
    FP16_MIXED("fp16-mixed"),
    /** bf16 weights, gradients, optimizer moments and activations (LoRA adapters stay fp32, as PEFT keeps them). */
    BF16_TRUE("bf16-true");

    private final String label;

    Precision(String label) {
        this.label = label;
    }

    /** The config value ({@code fp32}, {@code bf16-mixed}, {@code fp16-mixed}, {@code bf16-true}). */
    @JsonValue
    public String label() {
        return label;
    }

    /** A config value; Lightning's own spellings {@code 32-true}, {@code 32} and {@code 16-mixed} are accepted too. */
    @JsonCreator
    public static Precision of(String name) {
        String n = name == null ? "" : name.trim().toLowerCase(Locale.ROOT);
        switch (n) {
            case "32", "32-true" -> {
                return FP32;
            }
            case "16-mixed" -> {
                return FP16_MIXED;
            }
            default -> {
                for (Precision p : values()) {
                    if (p.label.equals(n)) {
                        return p;
                    }
                }
            }
        }
        throw new UserError("precision '" + name + "' is not one of "
                + Arrays.stream(values()).map(Precision::label).toList());
    }

    /** Whether fp16's range needs the loss scaled before backward. */
    public boolean needsLossScaling() {
        return this == FP16_MIXED;
    }

    @Override
    public String toString() {
        return label;
    }
}
