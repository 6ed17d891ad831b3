package org.sft4j.data;

import com.fasterxml.jackson.annotation.JsonMerge;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;
import org.sft4j.tokenize.DropReason;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * What the data step did, so nothing is lost silently: rows read, examples kept per split, examples
 * dropped per reason, truncations, token and supervised-token counts, token lengths (for the
 * histogram), and the first skipped rows with their locations.
 */
@JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)   // report.json: rows_read, supervised_tokens, ...
public final class DataReport {

    public static final int MAX_LISTED_SKIPS = 20;

    public long rowsRead;
    public long examples;
    public long train;
    public long val;
    public long truncated;
    public long tokens;
    public long supervisedTokens;
    public long turnsWithoutEndToken;
    /** Conversations trained one sequence per assistant turn, because the template rewrites earlier turns. */
    public long splitByTurn;
    /** Examples whose reasoning was removed ({@code enable_thinking: false}). */
    public long reasoningRemoved;
    public int cutoffLen;
    /** What happened to examples over cutoff_len: drop, truncate (or error, which stops the run). */
    public String overlong = "drop";
    public String formats = "";
    public String template = "";
    public String tokenizer = "";
    @JsonMerge public final Map<DropReason, Long> dropped = new EnumMap<>(DropReason.class);
    @JsonMerge public final List<String> skippedRows = new ArrayList<>();
    @JsonMerge public final List<Integer> lengths = new ArrayList<>();
    /** Lengths of the examples over cutoff_len before they were dropped or truncated (the histogram shows them too). */
    @JsonMerge public final List<Integer> overLengths = new ArrayList<>();

    void drop(DropReason r) {
        dropped.merge(r, 1L, Long::sum);
    }

    /** Keeps a skipped row's location and reason (the first {@value #MAX_LISTED_SKIPS}). */
    void listSkipped(String where) {
        if (skippedRows.size() < MAX_LISTED_SKIPS) {
            skippedRows.add(where);
        }
    }

    /** The first {@code n} skipped rows with their reasons, and how many more the report holds or counted. */
    public List<String> firstSkipped(int n) {
        List<String> out = new ArrayList<>(skippedRows.subList(0, Math.min(n, skippedRows.size())));
        long total = dropped.getOrDefault(DropReason.MALFORMED_ROW, 0L) + dropped.getOrDefault(DropReason.TEMPLATE_ERROR, 0L);
        if (total > out.size()) {
            out.add("... and " + (total - out.size()) + " more" + (skippedRows.size() > n
                    ? " (report.json lists the first " + skippedRows.size() + ")" : ""));
        }
        return out;
    }

    public long droppedTotal() {
        return dropped.values().stream().mapToLong(Long::longValue).sum();
    }

    public long kept() {
        return train + val;
    }

    /** Rows of (what, count) for a report table. */
    public List<String[]> rows() {
        List<String[]> r = new ArrayList<>();
        r.add(new String[] {"rows read", String.valueOf(rowsRead)});
        r.add(new String[] {"examples", String.valueOf(examples)});
        r.add(new String[] {"kept (train)", String.valueOf(train)});
        r.add(new String[] {"kept (validation)", String.valueOf(val)});
        for (Map.Entry<DropReason, Long> e : dropped.entrySet()) {
            r.add(new String[] {"dropped: " + e.getKey().text(), String.valueOf(e.getValue())});
        }
        r.add(new String[] {"truncated to cutoff_len " + cutoffLen, String.valueOf(truncated)});
        r.add(new String[] {"tokens (kept)", String.valueOf(tokens)});
        r.add(new String[] {"supervised tokens (kept)", String.valueOf(supervisedTokens)});
        r.add(new String[] {"answers not ending in an end token", String.valueOf(turnsWithoutEndToken)});
        if (splitByTurn > 0) {
            r.add(new String[] {"conversations split into one sequence per rewritten turn (kept counts sequences)",
                    String.valueOf(splitByTurn)});
        }
        if (reasoningRemoved > 0) {
            r.add(new String[] {"examples whose reasoning was removed (enable_thinking: false)", String.valueOf(reasoningRemoved)});
        }
        return r;
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder();
        for (String[] row : rows()) {
            sb.append(String.format("%-40s %s%n", row[0], row[1]));
        }
        return sb.toString();
    }
}
