package org.sft4j.eval.bleu;

import org.sft4j.base.PyStrings;
import org.sft4j.base.UserError;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.IntStream;

/**
 * Corpus and sentence BLEU with sacrebleu 2.x semantics: same tokenizers, smoothing, closest reference
 * length, effective order and signature.
 *
 * <pre>{@code
 * BleuScore s = Bleu.builder().build().corpusScore(hyps, List.of(refs));
 * System.out.println(s);   // BLEU|nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:... = 20.80 ...
 * }</pre>
 */
public final class Bleu {

    /** sacrebleu's version whose semantics these numbers reproduce, plus this implementation's marker. */
    public static final String VERSION = "2.6.0+sft4j." + org.sft4j.base.Version.VERSION;
    public static final int MAX_ORDER = 4;

    private final BleuTokenizer tokenizer;
    private final boolean lowercase;
    private final Smoothing smoothing;
    private final Double smoothValue;
    private final boolean effectiveOrder;
    private final int maxOrder;

    private Bleu(Builder b) {
        this.tokenizer = BleuTokenizer.of(b.tokenize);
        this.lowercase = b.lowercase;
        this.smoothing = b.smoothing;
        this.smoothValue = b.smoothValue;
        this.effectiveOrder = b.effectiveOrder;
        this.maxOrder = b.maxOrder;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Options as sacrebleu's {@code BLEU(...)} constructor takes them. */
    public static final class Builder {
        private String tokenize = "13a";
        private boolean lowercase;
        private Smoothing smoothing = Smoothing.EXP;
        private Double smoothValue;
        private boolean effectiveOrder;
        private int maxOrder = MAX_ORDER;

        public Builder tokenize(String t) {
            this.tokenize = t;
            return this;
        }

        public Builder lowercase(boolean on) {
            this.lowercase = on;
            return this;
        }

        public Builder smoothing(Smoothing m, Double value) {
            this.smoothing = m;
            this.smoothValue = value;
            return this;
        }

        public Builder effectiveOrder(boolean on) {
            this.effectiveOrder = on;
            return this;
        }

        public Builder maxOrder(int n) {
            this.maxOrder = n;
            return this;
        }

        public Bleu build() {
            return new Bleu(this);
        }
    }

    /**
     * BLEU of a corpus.
     *
     * @param hyps one hypothesis per segment
     * @param refStreams one list per reference set, each as long as {@code hyps}; a null line means "no
     *     reference here" (variable number of references)
     */
    public BleuScore corpusScore(List<String> hyps, List<List<String>> refStreams) {
        checkLengths(hyps, refStreams);
        List<List<String>> refsPerSegment = refsPerSegment(hyps.size(), refStreams);
        // segments are independent: their statistics in parallel, summed in order (integers, so exactly)
        long[][] segs = new long[hyps.size()][];
        IntStream.range(0, hyps.size()).parallel().forEach(i -> segs[i] = segmentStats(hyps.get(i), refsPerSegment.get(i)));
        long[] stats = new long[2 + 2 * maxOrder];
        for (long[] seg : segs) {
            for (int k = 0; k < stats.length; k++) {
                stats[k] += seg[k];
            }
        }
        Set<Integer> numRefs = new HashSet<>();
        refsPerSegment.forEach(r -> numRefs.add(r.size()));
        return compute(stats, signature(numRefs.size() == 1 ? numRefs.iterator().next() : -1));
    }

    /** The references of each segment, without the null lines of streams that have none there. */
    static List<List<String>> refsPerSegment(int segments, List<List<String>> refStreams) {
        List<List<String>> out = new ArrayList<>(segments);
        for (int i = 0; i < segments; i++) {
            List<String> refs = new ArrayList<>();
            for (List<String> stream : refStreams) {
                if (stream.get(i) != null) {
                    refs.add(stream.get(i));
                }
            }
            out.add(refs);
        }
        return out;
    }

    /** BLEU of one sentence against its references (use with effective order, as sacrebleu recommends). */
    public BleuScore sentenceScore(String hyp, List<String> refs) {
        return compute(segmentStats(hyp, refs), signature(refs.size()));
    }

    /** Sufficient statistics of one segment: [hyp_len, ref_len, correct_1..n, total_1..n]. */
    public long[] segmentStats(String hyp, List<String> refs) {
        Map<String, Integer> refNgrams = new HashMap<>();
        List<Integer> refLens = new ArrayList<>();
        for (String r : refs) {
            List<String> toks = PyStrings.split(preprocess(r));
            refLens.add(toks.size());
            for (Map.Entry<String, Integer> e : ngrams(toks).entrySet()) {
                refNgrams.merge(e.getKey(), e.getValue(), Math::max);
            }
        }
        List<String> hypToks = PyStrings.split(preprocess(hyp));
        int hypLen = hypToks.size();
        long[] s = new long[2 + 2 * maxOrder];
        s[0] = hypLen;
        s[1] = closestRefLen(hypLen, refLens);
        for (Map.Entry<String, Integer> e : ngrams(hypToks).entrySet()) {
            int n = order(e.getKey()) - 1;
            s[2 + maxOrder + n] += e.getValue();
            Integer r = refNgrams.get(e.getKey());
            if (r != null) {
                s[2 + n] += Math.min(e.getValue(), r);
            }
        }
        return s;
    }

    private String preprocess(String s) {
        if (lowercase) {
            s = PyStrings.lower(s);
        }
        return tokenizer.tokenize(PyStrings.rstrip(s));
    }

    /** n-gram counts for 1 <= n <= maxOrder; an n-gram is its tokens joined by U+0001 (never in a token after split). */
    private Map<String, Integer> ngrams(List<String> toks) {
        Map<String, Integer> m = new HashMap<>(toks.size() * maxOrder * 2);
        for (int n = 1; n <= maxOrder; n++) {
            for (int i = 0; i + n <= toks.size(); i++) {
                String key = n == 1 ? toks.get(i) : String.join("\u0001", toks.subList(i, i + n));
                m.merge(key, 1, Integer::sum);
            }
        }
        return m;
    }

    private static int order(String ngram) {
        int n = 1;
        for (int i = 0; i < ngram.length(); i++) {
            if (ngram.charAt(i) == '\u0001') {
                n++;
            }
        }
        return n;
    }

    /** The reference length closest to the hypothesis length; ties go to the shorter reference. */
    static int closestRefLen(int hypLen, List<Integer> refLens) {
        int bestDiff = -1;
        int best = -1;
        for (int r : refLens) {
            int diff = Math.abs(hypLen - r);
            if (bestDiff == -1 || diff < bestDiff) {
                bestDiff = diff;
                best = r;
            } else if (diff == bestDiff && r < best) {
                best = r;
            }
        }
        return best;
    }

    /** sacrebleu's {@code compute_bleu}: brevity penalty, smoothed precisions, geometric mean. */
    BleuScore compute(long[] stats, String signature) {
        long sysLen = stats[0];
        long refLen = stats[1];
        double[] correct = new double[maxOrder];
        double[] total = new double[maxOrder];
        long[] counts = new long[maxOrder];
        long[] totals = new long[maxOrder];
        for (int n = 0; n < maxOrder; n++) {
            correct[n] = stats[2 + n];
            total[n] = stats[2 + maxOrder + n];
            counts[n] = stats[2 + n];
            totals[n] = stats[2 + maxOrder + n];
        }
        double sv = smoothValue != null ? smoothValue : smoothing.defaultValue == null ? 0 : smoothing.defaultValue;
        double bp = 1.0;
        if (sysLen < refLen) {
            bp = sysLen > 0 ? Math.exp(1 - (double) refLen / sysLen) : 0.0;
        }
        double[] precisions = new double[maxOrder];
        boolean any = false;
        for (long c : counts) {
            any |= c != 0;
        }
        if (!any) {
            return new BleuScore(0.0, counts, totals, precisions, bp, sysLen, refLen, signature);
        }
        double smoothMteval = 1.0;
        int effOrder = maxOrder;
        for (int n = 1; n <= maxOrder; n++) {
            if (smoothing == Smoothing.ADD_K && n > 1) {
                correct[n - 1] += sv;
                total[n - 1] += sv;
            }
            if (total[n - 1] == 0) {
                break;
            }
            if (effectiveOrder) {
                effOrder = n;
            }
            if (correct[n - 1] == 0) {
                if (smoothing == Smoothing.EXP) {
                    smoothMteval *= 2;
                    precisions[n - 1] = 100.0 / (smoothMteval * total[n - 1]);
                } else if (smoothing == Smoothing.FLOOR) {
                    precisions[n - 1] = 100.0 * sv / total[n - 1];
                }
            } else {
                precisions[n - 1] = 100.0 * correct[n - 1] / total[n - 1];
            }
        }
        double logSum = 0;
        for (int i = 0; i < effOrder; i++) {
            logSum += precisions[i] == 0.0 ? -9999999999.0 : Math.log(precisions[i]);
        }
        double score = bp * Math.exp(logSum / effOrder);
        return new BleuScore(score, counts, totals, precisions, bp, sysLen, refLen, signature);
    }

    private String signature(int numRefs) {
        return "nrefs:" + (numRefs < 0 ? "var" : String.valueOf(numRefs)) + "|case:" + (lowercase ? "lc" : "mixed")
                + "|eff:" + (effectiveOrder ? "yes" : "no") + "|tok:" + tokenizer.signature() + "|smooth:"
                + smoothing.signature(smoothValue) + "|version:" + VERSION;
    }

    static void checkLengths(List<String> hyps, List<List<String>> refStreams) {
        if (refStreams.isEmpty()) {
            throw new UserError("no reference stream given");
        }
        for (int i = 0; i < refStreams.size(); i++) {
            if (refStreams.get(i).size() != hyps.size()) {
                throw new UserError("the hypotheses have " + hyps.size() + " lines but reference "
                        + (i + 1) + " has " + refStreams.get(i).size());
            }
        }
    }
}
