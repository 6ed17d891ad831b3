package org.sft4j.eval.bleu;

import org.sft4j.base.PyStrings;

import java.util.Arrays;
import java.util.stream.Collectors;

/**
 * A BLEU score with every intermediate sacrebleu reports.
 *
 * @param score BLEU in [0, 100]
 * @param counts matched n-grams per order
 * @param totals hypothesis n-grams per order
 * @param precisions n-gram precisions in percent (smoothed)
 * @param bp brevity penalty
 * @param sysLen hypothesis length in tokens
 * @param refLen closest reference length in tokens
 * @param signature reproducibility signature, e.g. {@code nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:...}
 */
public record BleuScore(double score, long[] counts, long[] totals, double[] precisions, double bp, long sysLen,
                        long refLen, String signature) {

    public double ratio() {
        return refLen == 0 ? 0 : (double) sysLen / refLen;
    }

    /** The verbose part: {@code 91.4/76.9/68.7/62.4 (BP = 0.902 ratio = 0.906 hyp_len = 10970 ref_len = 12106)}. */
    public String verbose() {
        String prec = Arrays.stream(precisions).mapToObj(p -> PyStrings.fixed(p, 1)).collect(Collectors.joining("/"));
        return prec + " (BP = " + PyStrings.fixed(bp, 3) + " ratio = " + PyStrings.fixed(ratio(), 3) + " hyp_len = "
                + sysLen + " ref_len = " + refLen + ")";
    }

    /** The line sacrebleu's text format prints. */
    public String format() {
        return "BLEU|" + signature + " = " + PyStrings.fixed(score, 2) + " " + verbose();
    }

    @Override
    public String toString() {
        return format();
    }
}
