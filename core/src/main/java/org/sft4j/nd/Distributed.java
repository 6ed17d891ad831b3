package org.sft4j.nd;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import org.slf4j.LoggerFactory;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * A torch.distributed process group across worker processes, one per GPU (NCCL) or several on CPU (Gloo), joined
 * through a TCP store that rank 0 serves: the native extension's companion library {@code libsft4j_dist.so}.
 *
 * <pre>{@code
 * try (Distributed group = Distributed.join("127.0.0.1", 29500, rank, world, Device.gpu(rank))) {
 *     group.allReduceSum(gradients);     // every rank now holds the sum
 * }
 * }</pre>
 */
public final class Distributed implements AutoCloseable {

    private static final String LIB = "libsft4j_dist.so";
    private static volatile Boolean available;

    private final long group;
    private final int rank;
    private final int world;

    private Distributed(long group, int rank, int world) {
        this.group = group;
        this.rank = rank;
        this.world = world;
    }

    private static native long init(String host, int port, int rank, int world, int device, int timeoutSeconds);

    private static native void allReduceSum(long group, long[] handles);

    private static native void broadcast(long group, long[] handles, int root);

    private static native void destroy(long group);

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
        if (!available()) {
            throw new org.sft4j.base.UserError("multi-process training needs native/build/" + LIB
                    + " (built by native/build.sh beside libtorch: NCCL where CUDA and NCCL's header are found, Gloo for CPU)");
        }
        // a GPU rank joins through NCCL on its device, a CPU rank through Gloo
        int gpu = device.isGpu() ? Math.max(0, device.getDeviceId()) : -1;
        return new Distributed(init(host, port, rank, world, gpu, 300), rank, world);
    }

    public int rank() {
        return rank;
    }

    public int world() {
        return world;
    }

    /** Replaces every tensor by its sum over the ranks (one collective over a flat buffer). */
    public void allReduceSum(List<NDArray> tensors) {
        allReduceSum(group, NativeOps.handles(tensors));
    }

    /**
     * Sums the gradients of {@code params} (leaf arrays that require gradients) across the group in buckets of
     * about {@code bucketBytes}, overlapped with backward; see {@link GradientBuckets}.
     */
    public GradientBuckets overlap(List<NDArray> params, long bucketBytes) {
        return new GradientBuckets(group, params, bucketBytes);
    }

    /** Replaces every tensor by rank {@code root}'s. */
    public void broadcast(List<NDArray> tensors, int root) {
        broadcast(group, NativeOps.handles(tensors), root);
    }

    @Override
    public void close() {
        destroy(group);
    }
}
