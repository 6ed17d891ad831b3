package org.sft4j.eval.bleu;

import org.sft4j.base.PyStrings;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.IntStream;

/**
 * chrF (Popović 2015) and chrF++ (word order 2) with sacrebleu 2.x semantics: character n-grams up
 * to 6 without whitespace, beta 2, effective-order averaging, the reference with the best F kept per
 * segment.
 */
public final class Chrf {

    private static final String PUNCTS = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";

    private final int charOrder;
    private final int wordOrder;
    private final int beta;
    private final boolean lowercase;
    private final boolean whitespace;
    private final boolean epsSmoothing;

    public Chrf(int charOrder, int wordOrder, int beta, boolean lowercase, boolean whitespace, boolean epsSmoothing) {
        this.charOrder = charOrder;
        this.wordOrder = wordOrder;
        this.beta = beta;
        this.lowercase = lowercase;
        this.whitespace = whitespace;
        this.epsSmoothing = epsSmoothing;
    }

    /** chrF with sacrebleu's defaults. */
    public static Chrf chrf() {
        return new Chrf(6, 0, 2, false, false, false);
    }

    /** chrF++: chrF plus word uni- and bigrams. */
    public static Chrf chrfPlusPlus() {
        return new Chrf(6, 2, 2, false, false, false);
    }

    public Chrf lowercase(boolean on) {
        return new Chrf(charOrder, wordOrder, beta, on, whitespace, epsSmoothing);
    }

    public ChrfScore corpusScore(List<String> hyps, List<List<String>> refStreams) {
        Bleu.checkLengths(hyps, refStreams);
        List<List<String>> refsPerSegment = Bleu.refsPerSegment(hyps.size(), refStreams);
        // segments in parallel; their statistics are counts, so the ordered sum is exact
        double[][] segs = new double[hyps.size()][];
        IntStream.range(0, hyps.size()).parallel().forEach(i ->
                segs[i] = segmentStats(prep(hyps.get(i)), refsPerSegment.get(i).stream().map(this::prep).toList()));
        double[] stats = new double[3 * (charOrder + wordOrder)];
        for (double[] seg : segs) {
            for (int k = 0; k < stats.length; k++) {
                stats[k] += seg[k];
            }
        }
        Set<Integer> numRefs = new HashSet<>();
        refsPerSegment.forEach(r -> numRefs.add(r.size()));
        return new ChrfScore(name(), fScore(stats), signature(numRefs.size() == 1 ? numRefs.iterator().next() : -1));
    }

    public ChrfScore sentenceScore(String hyp, List<String> refs) {
        List<String> r = refs.stream().map(this::prep).toList();
        return new ChrfScore(name(), fScore(segmentStats(prep(hyp), r)), signature(refs.size()));
    }

    private String prep(String s) {
        return lowercase ? PyStrings.lower(s) : s;
    }

    private String name() {
        return "chrF" + beta + "+".repeat(wordOrder);
    }

    private double[] segmentStats(String hyp, List<String> refs) {
        List<Map<String, Integer>> h = allNgrams(hyp);
        double[] best = new double[3 * (charOrder + wordOrder)];
        double bestF = -1;
        for (String ref : refs) {
            List<Map<String, Integer>> r = allNgrams(ref);
            double[] stats = new double[best.length];
            for (int i = 0; i < h.size(); i++) {
                long hypCount = 0;
                long match = 0;
                for (Map.Entry<String, Integer> e : h.get(i).entrySet()) {
                    hypCount += e.getValue();
                    Integer rc = r.get(i).get(e.getKey());
                    if (rc != null) {
                        match += Math.min(e.getValue(), rc);
                    }
                }
                long refCount = r.get(i).values().stream().mapToLong(Integer::longValue).sum();
                stats[3 * i] = r.get(i).isEmpty() ? 0 : hypCount;
                stats[3 * i + 1] = refCount;
                stats[3 * i + 2] = match;
            }
            double f = fScore(stats);
            if (f > bestF) {
                bestF = f;
                best = stats;
            }
        }
        return best;
    }

    private List<Map<String, Integer>> allNgrams(String line) {
        List<Map<String, Integer>> out = new ArrayList<>();
        String chars = whitespace ? line : String.join("", PyStrings.split(line));
        int[] cps = PyStrings.codePoints(chars);
        for (int n = 1; n <= charOrder; n++) {
            Map<String, Integer> m = new HashMap<>();
            for (int i = 0; i + n <= cps.length; i++) {
                m.merge(new String(cps, i, n), 1, Integer::sum);
            }
            out.add(m);
        }
        if (wordOrder > 0) {
            List<String> words = removePunctuation(line);
            for (int n = 1; n <= wordOrder; n++) {
                Map<String, Integer> m = new HashMap<>();
                for (int i = 0; i + n <= words.size(); i++) {
                    m.merge(String.join(" ", words.subList(i, i + n)), 1, Integer::sum);
                }
                out.add(m);
            }
        }
        return out;
    }

    /** Splits a leading or trailing ASCII punctuation mark off each word (sacrebleu issue #124 included). */
    private static List<String> removePunctuation(String sent) {
        List<String> out = new ArrayList<>();
        for (String w : PyStrings.split(sent)) {
            int[] cps = PyStrings.codePoints(w);
            if (cps.length == 1) {
                out.add(w);
            } else if (isPunct(cps[cps.length - 1])) {
                out.add(new String(cps, 0, cps.length - 1));
                out.add(new String(cps, cps.length - 1, 1));
            } else if (isPunct(cps[0])) {
                out.add(new String(cps, 0, 1));
                out.add(new String(cps, 1, cps.length - 1));
            } else {
                out.add(w);
            }
        }
        return out;
    }

    private static boolean isPunct(int c) {
        return c < 128 && PUNCTS.indexOf(c) >= 0;
    }

    private double fScore(double[] s) {
        double eps = 1e-16;
        double score = 0;
        int effective = 0;
        double factor = (double) beta * beta;
        double avgPrec = 0;
        double avgRec = 0;
        int order = charOrder + wordOrder;
        for (int i = 0; i < order; i++) {
            double nHyp = s[3 * i];
            double nRef = s[3 * i + 1];
            double nMatch = s[3 * i + 2];
            double prec = nHyp > 0 ? nMatch / nHyp : eps;
            double rec = nRef > 0 ? nMatch / nRef : eps;
            double denom = factor * prec + rec;
            score += denom > 0 ? (1 + factor) * prec * rec / denom : eps;
            if (nHyp > 0 && nRef > 0) {
                avgPrec += prec;
                avgRec += rec;
                effective++;
            }
        }
        if (epsSmoothing) {
            return 100 * score / order;
        }
        if (effective == 0) {
            avgPrec = 0;
            avgRec = 0;
        } else {
            avgPrec /= effective;
            avgRec /= effective;
        }
        if (avgPrec + avgRec != 0) {
            double f = (1 + factor) * avgPrec * avgRec;   // same operation order as sacrebleu
            f /= (factor * avgPrec) + avgRec;
            return 100 * f;
        }
        return 0.0;
    }

    private String signature(int numRefs) {
        return "nrefs:" + (numRefs < 0 ? "var" : String.valueOf(numRefs)) + "|case:" + (lowercase ? "lc" : "mixed")
                + "|eff:" + (epsSmoothing ? "no" : "yes") + "|nc:" + charOrder + "|nw:" + wordOrder + "|space:"
                + (whitespace ? "yes" : "no") + "|version:" + Bleu.VERSION;
    }
}
