package org.sft4j.eval.bleu;

import org.sft4j.base.PyStrings;
/**
 * A chrF or chrF++ score.
 *
 * @param name {@code chrF2} or {@code chrF2++}
 * @param score in [0, 100]
 * @param signature reproducibility signature
 */
public record ChrfScore(String name, double score, String signature) {

    public String format() {
        return name + "|" + signature + " = " + PyStrings.fixed(score, 2);
    }

    @Override
    public String toString() {
        return format();
    }
}
