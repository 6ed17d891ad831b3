package org.sft4j.batch;

import org.sft4j.base.UserError;
import org.sft4j.data.TokenizedSet;
import org.sft4j.tokenize.EncodedExample;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Random;

/**
 * Cuts a tokenized set into micro-batches, epoch by epoch, deterministically from (seed, epoch) so that a
 * resumed run sees exactly the batches it would have seen.
 *
 * <p>Three modes: a fixed number of rows per batch, with length bucketing (examples of similar length
 * share a batch, so little is padding); a token budget per batch ({@code max_num_tokens} without packing,
 * fairseq2's dynamic batching); or packing, where several examples share a row of {@code max_num_tokens}
 * with positions restarting and attention kept inside each example.
 */
public final class Batcher {

    /** Examples per sorting window for length bucketing, in batches. */
    private static final int BUCKET_WINDOW = 64;

    private final TokenizedSet data;
    private final int batchSize;
    private final Integer maxNumTokens;
    private final boolean packing;
    private final long seed;
    private final boolean shuffle;

    public Batcher(TokenizedSet data, int batchSize, Integer maxNumTokens, boolean packing, long seed, boolean shuffle) {
        if (data.size() == 0) {
            throw new UserError("the dataset is empty: no batches can be made");
        }
        if (packing && maxNumTokens == null) {
            throw new UserError("packing needs max_num_tokens (the length of a packed row)");
        }
        this.data = data;
        this.batchSize = batchSize;
        this.maxNumTokens = maxNumTokens;
        this.packing = packing;
        this.seed = seed;
        this.shuffle = shuffle;
    }

    /** The micro-batches of one epoch, as lists of example indices per row (several per row when packing). */
    public List<List<int[]>> epochPlan(int epoch) {
        int n = data.size();
        Integer[] order = new Integer[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
        }
        Random rnd = new Random(seed * 1_000_003L + epoch);
        if (shuffle) {
            shuffle(order, rnd);
        }
        List<int[]> rows = new ArrayList<>();
        if (packing) {
            rows.addAll(pack(order));
        } else {
            int window = batchSize * BUCKET_WINDOW;
            for (int s = 0; s < n; s += window) {
                Integer[] w = Arrays.copyOfRange(order, s, Math.min(n, s + window));
                if (shuffle) {
                    Arrays.sort(w, Comparator.comparingInt(i -> data.get(i).length()));
                }
                for (Integer i : w) {
                    rows.add(new int[] {i});
                }
            }
        }
        List<List<int[]>> batches = new ArrayList<>();
        List<int[]> cur = new ArrayList<>();
        int curMax = 0;
        for (int[] row : rows) {
            int len = rowLength(row);
            boolean full = maxNumTokens != null && !packing
                    ? !cur.isEmpty() && Math.max(curMax, len) * (cur.size() + 1) > maxNumTokens
                    : cur.size() == batchSize;
            if (full) {
                batches.add(cur);
                cur = new ArrayList<>();
                curMax = 0;
            }
            cur.add(row);
            curMax = Math.max(curMax, len);
        }
        if (!cur.isEmpty()) {
            batches.add(cur);
        }
        if (shuffle) {
            java.util.Collections.shuffle(batches, rnd);   // buckets sorted by length, but visited in random order
        }
        return batches;
    }

    /** First-fit decreasing into rows of {@code max_num_tokens}, within windows of the shuffled order. */
    private List<int[]> pack(Integer[] order) {
        List<int[]> rows = new ArrayList<>();
        int window = Math.max(batchSize * BUCKET_WINDOW, 256);
        for (int s = 0; s < order.length; s += window) {
            Integer[] w = Arrays.copyOfRange(order, s, Math.min(order.length, s + window));
            Arrays.sort(w, Comparator.comparingInt((Integer i) -> data.get(i).length()).reversed());
            List<List<Integer>> bins = new ArrayList<>();
            List<Integer> free = new ArrayList<>();
            for (Integer i : w) {
                int len = data.get(i).length();
                if (len > maxNumTokens) {
                    throw new UserError("example " + data.get(i).id() + " has " + len
                            + " tokens, more than max_num_tokens " + maxNumTokens);
                }
                int b = 0;
                while (b < bins.size() && free.get(b) < len) {
                    b++;
                }
                if (b == bins.size()) {
                    bins.add(new ArrayList<>());
                    free.add(maxNumTokens);
                }
                bins.get(b).add(i);
                free.set(b, free.get(b) - len);
            }
            for (List<Integer> bin : bins) {
                rows.add(bin.stream().mapToInt(Integer::intValue).toArray());
            }
        }
        return rows;
    }

    private int rowLength(int[] row) {
        int len = 0;
        for (int i : row) {
            len += data.get(i).length();
        }
        return len;
    }

    /** Pads (right) the rows of one planned batch into arrays. */
    public Batch materialize(List<int[]> plan) {
        int b = plan.size();
        int t = 0;
        for (int[] row : plan) {
            t = Math.max(t, rowLength(row));
        }
        long[][] ids = new long[b][t];
        long[][] labels = new long[b][t];
        int[][] mask = new int[b][t];
        long[][] pos = new long[b][t];
        int[][] seg = packing ? new int[b][t] : null;
        for (int r = 0; r < b; r++) {
            Arrays.fill(labels[r], EncodedExample.IGNORE);
            int at = 0;
            int s = 0;
            for (int idx : plan.get(r)) {
                EncodedExample e = data.get(idx);
                for (int k = 0; k < e.length(); k++) {
                    ids[r][at + k] = e.inputIds()[k];
                    // the first token of a packed sequence is never a target: it would be predicted from the previous one
                    labels[r][at + k] = k == 0 ? EncodedExample.IGNORE : e.labels()[k];
                    mask[r][at + k] = 1;
                    pos[r][at + k] = k;
                    if (seg != null) {
                        seg[r][at + k] = s;
                    }
                }
                at += e.length();
                s++;
            }
            if (seg != null) {
                for (int k = at; k < t; k++) {
                    seg[r][k] = s;   // padding is its own segment
                }
            }
        }
        return new Batch(ids, labels, mask, pos, seg, tokens(plan), supervised(plan));
    }

    /** Real (non-pad) tokens of a planned batch, without padding it into arrays. */
    public int tokens(List<int[]> plan) {
        int n = 0;
        for (int[] row : plan) {
            n += rowLength(row);
        }
        return n;
    }

    /** Supervised tokens of a planned batch (each example's own count), without padding it into arrays. */
    public int supervised(List<int[]> plan) {
        int n = 0;
        for (int[] row : plan) {
            for (int idx : row) {
                n += data.get(idx).supervised();
            }
        }
        return n;
    }

    private static void shuffle(Integer[] a, Random rnd) {
        for (int i = a.length - 1; i > 0; i--) {
            int j = rnd.nextInt(i + 1);
            Integer x = a[i];
            a[i] = a[j];
            a[j] = x;
        }
    }
}
