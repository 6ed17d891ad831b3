package org.sft4j.nd;

/**
 * A client of the TCP store a {@link Distributed} group rendezvoused through (rank 0 serves it), on a connection of
 * its own: small keys and counters the ranks of a run share beside their collectives (heartbeats, progress, a
 * failure's message). Each call is one round trip; it fails when the store is gone (rank 0 ended).
 */
public final class RendezvousStore implements AutoCloseable {

    private final long handle;

    private RendezvousStore(long handle) {
        this.handle = handle;
    }

    private static native long connect(String host, int port, int timeoutMillis);

    private static native long add(long store, String key, long delta);

    private static native void set(long store, String key, String value);

    private static native String get(long store, String key);

    private static native void close(long store);

    /** Connects to the store at {@code host:port}; each later call waits at most {@code timeoutMillis}. */
    public static RendezvousStore connect(String host, int port, java.time.Duration timeout) {
        if (!Distributed.available()) {
            throw new IllegalStateException("the rendezvous store needs the distributed library");
        }
        return new RendezvousStore(connect(host, port, (int) Math.min(Integer.MAX_VALUE, timeout.toMillis())));
    }

    /** Adds {@code delta} to the counter {@code key} (0 when unset) and returns the new value. */
    public long add(String key, long delta) {
        return add(handle, key, delta);
    }

    public void set(String key, String value) {
        set(handle, key, value);
    }

    /** The value of {@code key}, or null when it is not set. */
    public String get(String key) {
        return get(handle, key);
    }

    @Override
    public void close() {
        close(handle);
    }
}
