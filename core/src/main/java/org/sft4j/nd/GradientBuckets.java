package org.sft4j.nd;

import ai.djl.ndarray.NDArray;

import java.util.List;

/**
 * Gradients summed across a {@link Distributed} group while backward runs, in buckets (DDP's scheme, in the
 * native library): each parameter's gradient becomes a view of a flat bucket, and a bucket is all-reduced as
 * soon as backward has finished every gradient in it, overlapping communication with the rest of backward.
 *
 * <pre>{@code
 * try (GradientBuckets sync = group.overlap(params, GradientBuckets.DEFAULT_BUCKET_BYTES)) {
 *     // each step, on the micro-batch that completes the accumulated batch:
 *     lossStep.forwardBackwardLazy(batch, scale, step, sync::arm);   // arm just before the decoder's backward
 *     sync.finish();                                                  // then: clip, optimizer
 * }
 * }</pre>
 */
public final class GradientBuckets implements AutoCloseable {

    /** DDP's default bucket size. */
    public static final long DEFAULT_BUCKET_BYTES = 25L << 20;

    private final long handle;
    private final int buckets;

    private static native long create(long group, long[] params, long bucketBytes, int[] bucketCount);

    private static native void arm(long handle);

    private static native void finish(long handle);

    private static native void destroy(long handle);

    GradientBuckets(long group, List<NDArray> params, long bucketBytes) {
        int[] count = new int[1];
        this.handle = create(group, NativeOps.handles(params), bucketBytes, count);
        this.buckets = count[0];
    }

    /** How many buckets the gradients were split into. */
    public int bucketCount() {
        return buckets;
    }

    /** The next backward pass produces the final gradients of this step: reduce them as they become ready. */
    public void arm() {
        arm(handle);
    }

    /**
     * Reduces whatever backward did not reach, and orders the device's later work after every reduction (the
     * host does not wait). Every rank must call it once per armed step.
     */
    public void finish() {
        finish(handle);
    }

    @Override
    public void close() {
        destroy(handle);
    }
}
