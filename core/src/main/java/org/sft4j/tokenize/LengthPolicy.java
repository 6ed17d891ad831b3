package org.sft4j.tokenize;

import org.sft4j.read.DataException;

import java.util.Arrays;

/**
 * What to do with examples longer than {@code cutoff_len}: drop them (the default; LLaMA-Factory truncates
 * silently, a top complaint), truncate them (keeping the start), or stop with an error naming the example.
 */
public record LengthPolicy(int cutoffLen, String overlong, int minSeqLen) {

    /** The example as kept, or a {@link SftEncoder.DropException} with the reason. */
    public EncodedExample apply(EncodedExample e, String origin) {
        if (e.length() > cutoffLen) {
            switch (overlong) {
                case "error" -> throw new DataException(origin, "example " + e.id() + " has " + e.length()
                        + " tokens, more than cutoff_len " + cutoffLen + " (set overlong: drop or truncate)");
                case "truncate" -> e = new EncodedExample(e.id(), Arrays.copyOf(e.inputIds(), cutoffLen),
                        Arrays.copyOf(e.labels(), cutoffLen), true);
                default -> throw new SftEncoder.DropException(DropReason.OVERLONG);
            }
        }
        if (e.length() < minSeqLen) {
            throw new SftEncoder.DropException(DropReason.TOO_SHORT);
        }
        if (e.supervised() == 0) {
            throw new SftEncoder.DropException(DropReason.NO_SUPERVISED_TOKENS);
        }
        return e;
    }
}
