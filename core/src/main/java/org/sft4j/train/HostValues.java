package org.sft4j.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import org.sft4j.base.UserError;
import org.sft4j.nd.ProcessGroup;

import java.util.List;

/** Small host values shared by the ranks through one collective: sums (losses, counts, a norm) and rank 0's text. */
final class HostValues {

    private static final int MAX_TEXT = 4096;

    private HostValues() {}

    /** The sums over every rank of {@code values}, in fp64, through a tensor on {@code manager}'s device. */
    static double[] sum(ProcessGroup group, NDManager manager, double... values) {
        try (NDArray a = manager.create(values)) {
            group.allReduceSum(List.of(a));
            return a.toDoubleArray();
        }
    }

    /** Rank 0's {@code text} on every rank (what other ranks pass is ignored). */
    static String fromRankZero(ProcessGroup group, NDManager manager, String text) {
        long[] codes = new long[MAX_TEXT + 1];
        if (group.rank() == 0) {
            if (text.length() > MAX_TEXT) {
                throw new UserError("a path of more than " + MAX_TEXT + " characters cannot be shared between ranks: " + text);
            }
            codes[0] = text.length();
            for (int i = 0; i < text.length(); i++) {
                codes[i + 1] = text.charAt(i);
            }
        }
        try (NDArray a = manager.create(codes)) {
            group.broadcast(List.of(a), 0);
            long[] got = a.toLongArray();
            StringBuilder b = new StringBuilder();
            for (int i = 0; i < got[0]; i++) {
                b.append((char) got[i + 1]);
            }
            return b.toString();
        }
    }
}
