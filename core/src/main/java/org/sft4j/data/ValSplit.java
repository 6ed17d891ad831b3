package org.sft4j.data;

import org.sft4j.tokenize.EncodedExample;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Routes kept examples to the training or the validation file by a hash of their id (stable across runs;
 * both directions of a translation pair hash alike). {@code val_size} below 1 is a fraction: examples whose
 * hash falls below it. A whole number N is exact, as LLaMA-Factory's is: the N examples with the smallest
 * hashes, found in one pass by holding the current N candidates (an odd N with bidirectional pairs gives N-1,
 * since a pair is never split).
 */
final class ValSplit {

    private final TokenizedWriter train;
    private final TokenizedWriter val;
    private final double fraction;
    private final long count;
    private final long seed;
    /** The current candidates for an exact count, by hash: a hash holds both directions of a pair. */
    private final TreeMap<Double, List<EncodedExample>> held = new TreeMap<>();
    private long heldExamples;

    ValSplit(double valSize, long seed, TokenizedWriter train, TokenizedWriter val) {
        this.train = train;
        this.val = val;
        this.seed = seed;
        this.fraction = valSize < 1 ? Math.max(0, valSize) : 0;
        this.count = valSize >= 1 ? (long) valSize : 0;
    }

    void accept(EncodedExample e) throws IOException {
        double h = DataPipeline.splitOf(e.id(), seed);
        if (count == 0) {
            (h < fraction ? val : train).write(e);
            return;
        }
        if (heldExamples >= count && !held.containsKey(h) && h > held.lastKey()) {
            train.write(e);   // it can never be among the N smallest
            return;
        }
        held.computeIfAbsent(h, k -> new ArrayList<>(2)).add(e);
        heldExamples++;
        while (heldExamples > count) {
            Map.Entry<Double, List<EncodedExample>> largest = held.pollLastEntry();
            for (EncodedExample x : largest.getValue()) {
                train.write(x);
            }
            heldExamples -= largest.getValue().size();
        }
    }

    /** Writes the held-out examples of an exact count, in hash order. */
    void finish() throws IOException {
        for (List<EncodedExample> group : held.values()) {
            for (EncodedExample e : group) {
                val.write(e);
            }
        }
        held.clear();
    }
}
