package org.sft4j.nd;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import org.slf4j.LoggerFactory;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A torch.distributed process group across worker processes, one per GPU (NCCL) or several on CPU (Gloo), joined
 * through a TCP store that rank 0 serves: the native extension's companion library {@code libsft4j_dist.so}.
 *
 * <pre>{@code
 * try (Distributed group = Distributed.join("127.0.0.1", 29500, rank, world, Device.gpu(rank))) {
 *     group.allReduceSum(gradients);     // every rank now holds the sum
 * }
 * }</pre>
 *
 * <p>Its asynchronous all-gather and reduce-scatter run on NCCL's own stream; {@link Pending#join} makes the
 * device's later work wait for them, not the host. Collectives issued are counted ({@link #issued()}), so a rank
 * that stops issuing them can be told apart from the ranks waiting for it.
 */
public final class Distributed implements ProcessGroup {

    private static final String LIB = "libsft4j_dist.so";
    private static volatile Boolean available;

    /** How long a collective or the rendezvous may wait when nothing else is said (torch.distributed's 30 min). */
    public static final Duration DEFAULT_TIMEOUT = Duration.ofMinutes(30);

    private final long group;
    private final int rank;
    private final int world;
    private final AtomicLong issued = new AtomicLong();

    private Distributed(long group, int rank, int world) {
        this.group = group;
        this.rank = rank;
        this.world = world;
    }

    private static native long init(String host, int port, int rank, int world, int device, int timeoutSeconds);

    private static native void allReduceSum(long group, long[] handles);

    private static native void broadcast(long group, long[] handles, int root);

    private static native void destroy(long group);

    private static native long allGather(long group, long[] outs, long[] ins);

    private static native long reduceScatter(long group, long[] outs, long[] ins);

    private static native void joinPending(long pending);

    private static native void barrier(long group);

    /** Whether the distributed library is built and loaded (beside the native extension). */
    public static synchronized boolean available() {
        if (available == null) {
            Path dir = NativeOps.libraryDir();
            Path lib = dir == null ? null : dir.resolve(LIB);
            boolean ok = false;
            if (lib != null && Files.exists(lib)) {
                try {
                    System.load(lib.toString());
                    ok = true;
                } catch (UnsatisfiedLinkError e) {
                    LoggerFactory.getLogger(Distributed.class).warn("{} did not load ({})", lib, e.getMessage());
                }
            }
            available = ok;
        }
        return available;
    }

    /** Joins (rank 0: creates) the group; blocks until all {@code world} ranks have joined. */
    public static Distributed join(String host, int port, int rank, int world, Device device) {
        return join(host, port, rank, world, device, DEFAULT_TIMEOUT);
    }

    /**
     * As {@link #join(String, int, int, int, Device)}; {@code timeout} bounds the rendezvous and each collective
     * (torch.distributed's {@code timeout}, HF's {@code ddp_timeout}).
     */
    public static Distributed join(String host, int port, int rank, int world, Device device, Duration timeout) {
        if (!available()) {
            throw new org.sft4j.base.UserError("multi-process training needs native/build/" + LIB
                    + " (built by native/build.sh beside libtorch: NCCL where CUDA and NCCL's header are found, Gloo for CPU)");
        }
        // a GPU rank joins through NCCL on its device, a CPU rank through Gloo
        int gpu = device.isGpu() ? Math.max(0, device.getDeviceId()) : -1;
        int seconds = (int) Math.min(Integer.MAX_VALUE, Math.max(1, timeout.toSeconds()));
        return new Distributed(init(host, port, rank, world, gpu, seconds), rank, world);
    }

    @Override
    public int rank() {
        return rank;
    }

    @Override
    public int world() {
        return world;
    }

    /** Collectives this rank has issued so far. */
    public long issued() {
        return issued.get();
    }

    /** Replaces every tensor by its sum over the ranks (one collective over a flat buffer). */
    @Override
    public void allReduceSum(List<NDArray> tensors) {
        issued.incrementAndGet();
        try {
            allReduceSum(group, NativeOps.handles(tensors));
        } catch (IllegalStateException e) {
            throw new CollectiveFailure(rank, "an all-reduce", e);
        }
    }

    @Override
    public Pending allGather(List<NDArray> outs, List<NDArray> ins) {
        issued.incrementAndGet();
        try {
            return pending(allGather(group, NativeOps.handles(outs), NativeOps.handles(ins)), "an all-gather");
        } catch (IllegalStateException e) {
            throw new CollectiveFailure(rank, "an all-gather", e);
        }
    }

    @Override
    public Pending reduceScatter(List<NDArray> outs, List<NDArray> ins) {
        issued.incrementAndGet();
        try {
            return pending(reduceScatter(group, NativeOps.handles(outs), NativeOps.handles(ins)), "a reduce-scatter");
        } catch (IllegalStateException e) {
            throw new CollectiveFailure(rank, "a reduce-scatter", e);
        }
    }

    @Override
    public void barrier() {
        issued.incrementAndGet();
        try {
            barrier(group);
        } catch (IllegalStateException e) {
            throw new CollectiveFailure(rank, "a barrier", e);
        }
    }

    private Pending pending(long handle, String what) {
        return new Pending() {
            private boolean joined;

            @Override
            public void join() {
                if (!joined) {
                    joined = true;
                    try {
                        joinPending(handle);
                    } catch (IllegalStateException e) {
                        throw new CollectiveFailure(rank, what, e);
                    }
                }
            }
        };
    }

    /**
     * Sums the gradients of {@code params} (leaf arrays that require gradients) across the group in buckets of
     * about {@code bucketBytes}, overlapped with backward; see {@link GradientBuckets}.
     */
    public GradientBuckets overlap(List<NDArray> params, long bucketBytes) {
        return new GradientBuckets(group, params, bucketBytes);
    }

    /** Replaces every tensor by rank {@code root}'s. */
    @Override
    public void broadcast(List<NDArray> tensors, int root) {
        issued.incrementAndGet();
        try {
            broadcast(group, NativeOps.handles(tensors), root);
        } catch (IllegalStateException e) {
            throw new CollectiveFailure(rank, "a broadcast", e);
        }
    }

    @Override
    public void close() {
        destroy(group);
    }
}
