package org.sft4j.data;

import org.sft4j.config.DataArgs;
import org.sft4j.tokenize.DropReason;

import java.util.Map;
import java.util.stream.Collectors;

/** Why a data step ended with no training example, in the user's words, with the setting to change. */
final class NothingKept {

    private NothingKept() {}

    static String explain(DataReport r, DataArgs args) {
        if (r.rowsRead == 0) {
            return "the dataset has no rows (an empty file?)";
        }
        if (r.val > 0) {
            return "val_size " + fmt(args.valSize()) + " holds out all " + r.val + " kept examples: nothing is left to "
                    + "train on (lower val_size)";
        }
        String reasons = r.dropped.entrySet().stream().map(e -> e.getKey().text() + ": " + e.getValue())
                .collect(Collectors.joining(", "));
        StringBuilder b = new StringBuilder("no training example is left: every one of the " + r.rowsRead
                + " rows read was dropped (" + reasons + ")");
        Map<DropReason, Long> d = r.dropped;
        if (d.containsKey(DropReason.OVERLONG)) {
            b.append("; raise cutoff_len (").append(r.cutoffLen).append(") or set overlong: truncate");
        }
        if (!r.skippedRows.isEmpty()) {
            b.append("; first skipped row: ").append(r.skippedRows.get(0));
        }
        if (d.containsKey(DropReason.TOO_SHORT)) {
            b.append("; lower min_seq_len (").append(args.minSeqLen()).append(")");
        }
        return b.toString();
    }

    private static String fmt(double v) {
        return v == Math.rint(v) ? String.valueOf((long) v) : String.valueOf(v);
    }
}
