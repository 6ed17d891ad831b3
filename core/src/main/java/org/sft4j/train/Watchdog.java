package org.sft4j.train;

import org.sft4j.nd.CollectiveFailure;
import org.sft4j.nd.RendezvousStore;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.LongSupplier;

/**
 * Watches the other ranks of a multi-process run through the rendezvous store, so that one that dies or hangs stops
 * the others with its rank named instead of leaving them blocked in a collective (with the seeds' {@code ddp_timeout}
 * of 180000000 s, for years). Every few seconds each rank adds to its heartbeat counter and publishes how many
 * collectives it has issued; it stops its own process when
 * <ul>
 *   <li>another rank reported a failure (its exception's message, or a rank it found silent),</li>
 *   <li>the next rank's heartbeat stopped for {@code deadAfter} (the process died, or its host went away),</li>
 *   <li>the store is gone (rank 0, which serves it, died), or</li>
 *   <li>this rank issued no collective for {@code ddp_timeout}: the ranks that issued fewer than the others hang.</li>
 * </ul>
 */
final class Watchdog implements AutoCloseable {

    static final Duration BEAT = Duration.ofSeconds(2);
    private static final String BEAT_KEY = "sft4j/beat/";
    private static final String ISSUED = "sft4j/issued/";
    private static final String DONE = "sft4j/done/";
    private static final String FAILED = "sft4j/failed";

    private final RendezvousStore store;
    private final int rank;
    private final int world;
    private final LongSupplier issued;
    private final Duration deadAfter;
    private final Duration hangAfter;
    private final Consumer<String> stop;
    private final ScheduledExecutorService timer;
    private final long[] beats;
    private final long[] changedAt;
    private long lastIssued = -1;
    private long issuedChangedAt;
    private long storeLostAt = -1;

    /**
     * @param issued collectives this rank has issued so far
     * @param stop ends this process with the message given (the CLI prints it and exits)
     */
    Watchdog(RendezvousStore store, int rank, int world, LongSupplier issued, Duration deadAfter, Duration hangAfter,
             Consumer<String> stop) {
        this.store = store;
        this.rank = rank;
        this.world = world;
        this.issued = issued;
        this.deadAfter = deadAfter;
        this.hangAfter = hangAfter;
        this.stop = stop;
        this.beats = new long[world];
        this.changedAt = new long[world];
        long now = System.nanoTime();
        java.util.Arrays.fill(changedAt, now);
        this.issuedChangedAt = now;
        this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "sft4j-watchdog");
            t.setDaemon(true);
            return t;
        });
    }

    /** How long a rank's heartbeat may stop before it is taken for dead: {@code -Dsft4j.heartbeatTimeout} s, or 30 s. */
    static Duration deadAfter() {
        return Duration.ofSeconds(Long.getLong("sft4j.heartbeatTimeout", 30));
    }

    /** Stops this process: the message on standard error, exit code 1 (the main thread may be blocked in a collective). */
    static void halt(String message) {
        System.err.println("sft4j train: " + message);
        System.err.flush();
        Runtime.getRuntime().halt(1);
    }

    void start() {
        timer.scheduleWithFixedDelay(this::tick, 0, BEAT.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** Tells the other ranks this one failed, before it ends (best effort). */
    void reportFailure(String message) {
        tell("rank " + rank + " failed: " + message);
    }

    private void tell(String reason) {
        try {
            store.set(FAILED, rank + "|" + reason);
        } catch (RuntimeException e) {
            // the store is gone too: the others find out by themselves
        }
    }

    /**
     * A collective failed ({@code failure}): waits until the watchdog has had time to find which rank is to blame
     * (it then ends this process with that rank named), and returns if it found none.
     */
    static void awaitVerdict(Watchdog watchdog, RuntimeException failure) {
        if (watchdog == null || !(failure instanceof CollectiveFailure)) {
            return;
        }
        try {
            Thread.sleep(watchdog.deadAfter.toMillis() + 2 * BEAT.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * One beat: this rank's heartbeat and progress, then what went wrong elsewhere. Each rank watches the heartbeat of
     * the next one (a ring), and tells every other rank through the store when it stops, so a beat costs a few round
     * trips to rank 0's store whatever the number of ranks.
     */
    private void tick() {
        long now = System.nanoTime();
        try {
            store.add(BEAT_KEY + rank, 1);
            long mine = issued.getAsLong();
            store.set(ISSUED + rank, String.valueOf(mine));
            String failed = store.get(FAILED);
            if (failed != null && !failed.startsWith(rank + "|")) {
                stop.accept("rank " + rank + " stops: " + failed.substring(failed.indexOf('|') + 1));
                return;
            }
            int next = (rank + 1) % world;
            if (next != rank && store.get(DONE + next) == null) {
                long b = store.add(BEAT_KEY + next, 0);
                if (b != beats[next]) {
                    beats[next] = b;
                    changedAt[next] = now;
                } else if (now - changedAt[next] > deadAfter.toNanos()) {
                    String reason = "rank " + next + " sent no heartbeat for " + deadAfter.toSeconds()
                            + " s (the process died or its host is unreachable)";
                    tell(reason);
                    stop.accept("rank " + rank + " stops: " + reason);
                    return;
                }
            }
            storeLostAt = -1;
            if (mine != lastIssued) {
                lastIssued = mine;
                issuedChangedAt = now;
            } else if (now - issuedChangedAt > hangAfter.toNanos()) {
                stop.accept("rank " + rank + " stops: it issued no collective for ddp_timeout (" + hangAfter.toSeconds()
                        + " s); " + behind());
            }
        } catch (RuntimeException e) {
            // rank 0 serves the store: once it is unreachable for a while, rank 0 is gone
            if (storeLostAt < 0) {
                storeLostAt = now;
            } else if (now - storeLostAt > Math.max(10_000_000_000L, 3 * BEAT.toNanos())) {
                stop.accept("rank " + rank + " stops: lost the rendezvous store that rank 0 serves ("
                        + String.valueOf(e.getMessage()).lines().findFirst().orElse("") + "); rank 0 died or its host is "
                        + "unreachable");
            }
        }
    }

    /** Which ranks issued fewer collectives than the most any rank issued. */
    private String behind() {
        long[] counts = new long[world];
        long most = 0;
        for (int r = 0; r < world; r++) {
            String v = store.get(ISSUED + r);
            counts[r] = v == null ? -1 : Long.parseLong(v);
            most = Math.max(most, counts[r]);
        }
        List<Integer> late = new ArrayList<>();
        for (int r = 0; r < world; r++) {
            if (counts[r] < most) {
                late.add(r);
            }
        }
        return late.isEmpty() ? "every rank issued " + most + " collectives: none is behind the others"
                : ranks(late) + " issued fewer collectives than the others (" + most + "): it hangs";
    }

    private static String ranks(List<Integer> rs) {
        return (rs.size() == 1 ? "rank " : "ranks ") + rs.toString().replaceAll("[\\[\\]]", "");
    }

    /** Stops watching and tells the others this rank ended on purpose. */
    @Override
    public void close() {
        timer.shutdownNow();
        try {
            timer.awaitTermination(5, TimeUnit.SECONDS);
            store.set(DONE + rank, "1");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException e) {
            // rank 0 ended first: nothing to tell
        }
        try {
            store.close();
        } catch (RuntimeException e) {
            // as above
        }
    }
}
