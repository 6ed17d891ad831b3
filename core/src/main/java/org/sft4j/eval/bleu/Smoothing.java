package org.sft4j.eval.bleu;

import org.sft4j.base.PyStrings;
import org.sft4j.base.UserError;
/**
 * BLEU smoothing methods of Chen and Cherry (WMT 2014), as sacrebleu names them. {@code exp} is
 * mteval-v13a's (NIST) and the default.
 */
public enum Smoothing {
    NONE("none", null), FLOOR("floor", 0.1), ADD_K("add-k", 1.0), EXP("exp", null);

    final String label;
    final Double defaultValue;

    Smoothing(String label, Double defaultValue) {
        this.label = label;
        this.defaultValue = defaultValue;
    }

    public static Smoothing parse(String s) {
        for (Smoothing m : values()) {
            if (m.label.equals(s)) {
                return m;
            }
        }
        throw new UserError("unknown smoothing '" + s + "'; choose none, floor, add-k or exp");
    }

    /** The signature form: {@code exp}, {@code floor[0.10]}, {@code add-k[1.00]}. */
    String signature(Double value) {
        if (defaultValue == null) {
            return label;
        }
        return label + "[" + PyStrings.fixed(value == null ? defaultValue : value, 2) + "]";
    }
}
