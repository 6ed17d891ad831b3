package org.sft4j.nd;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import org.sft4j.base.UserError;

import java.util.Arrays;
import java.util.Locale;

/**
 * How an optimizer step writes a new value into a bf16 weight. bf16 keeps 8 bits of mantissa, so an AdamW step of
 * lr 1e-5 is under half a bf16 step for every weight above about 0.003 in size and rounds away: pure bf16 at the
 * learning rates of fine-tuning barely trains (issue 17: transformers in pure bf16 ends 13 steps of a 7B model at loss
 * 7.3 where fp32 master weights reach 0.0015). Weights that are not bf16 (fp32 masters, LoRA adapters) are updated
 * exactly whatever this says.
 */
public enum Bf16Update {
    /** Round to nearest, as torch's AdamW does on bf16 weights: updates under half a bf16 step are lost. */
    NEAREST("nearest"),
    /**
     * Kahan summation: a bf16 buffer per weight keeps what rounding dropped and adds it to the next update, so the
     * weight follows the fp32 trajectory (2 more bytes per weight; "Revisiting BFloat16 Training", optimi's default
     * for bf16 weights).
     */
    KAHAN("kahan"),
    /**
     * Stochastic rounding: up or down with probability by distance, so each weight is right on average (torchao's
     * {@code bf16_stochastic_round}); no extra memory. The random bits are a function of (seed, step, element): a
     * resumed run rounds as the uninterrupted one.
     */
    STOCHASTIC("stochastic");

    private final String label;

    Bf16Update(String label) {
        this.label = label;
    }

    /** The config value. */
    @JsonValue
    public String label() {
        return label;
    }

    /** A config value of {@code bf16_update}; {@code none} and {@code plain} mean {@link #NEAREST}. */
    @JsonCreator
    public static Bf16Update of(String name) {
        String n = name == null ? "" : name.trim().toLowerCase(Locale.ROOT);
        if (n.equals("none") || n.equals("plain")) {
            return NEAREST;
        }
        for (Bf16Update u : values()) {
            if (u.label.equals(n)) {
                return u;
            }
        }
        throw new UserError("bf16_update '" + name + "' is not one of "
                + Arrays.stream(values()).map(Bf16Update::label).toList());
    }

    /**
     * What a run uses when the config does not say: stochastic rounding wherever the weights are bf16. It followed the
     * fp32-master-weight loss curve as closely as Kahan summation (closer, step by step: Kahan's weights lag by up to
     * half a bf16 step) in Bf16TrainingTest, and costs no memory, so pure bf16 keeps transformers' footprint.
     */
    public static Bf16Update defaultFor(Precision precision) {
        return precision == Precision.BF16_TRUE ? STOCHASTIC : NEAREST;
    }

    /** The extension's code for this rule (native/src/adamw_bf16.h). */
    int code() {
        return ordinal();
    }

    @Override
    public String toString() {
        return label;
    }
}
