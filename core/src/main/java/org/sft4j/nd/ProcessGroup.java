package org.sft4j.nd;

import ai.djl.ndarray.NDArray;

import java.util.List;

/**
 * The collectives a sharded run needs, over the ranks of one job: torch.distributed's process groups through
 * {@link Distributed} (NCCL on GPUs, Gloo on CPU). Every rank calls the same collectives in the same order.
 *
 * <p>The sharding collectives are asynchronous: they return at once with a {@link Pending} that is
 * {@link Pending#join joined} where their result is needed. On a GPU joining makes the device's later work wait for
 * the collective (it runs on the communicator's own stream, beside the computation), not the host.
 */
public interface ProcessGroup extends AutoCloseable {

    /** A collective in flight. */
    interface Pending {
        /** Orders what comes after this call after the collective; call it once. */
        void join();
    }

    /** A collective that completed when it was issued. */
    Pending DONE = () -> { };

    /** The group of a process that is the whole job (world 1): its collectives are copies. */
    static ProcessGroup alone() {
        return new SingleRankGroup();
    }

    int rank();

    int world();

    /** Replaces every tensor by its sum over the ranks; the values are there when this returns. */
    void allReduceSum(List<NDArray> tensors);

    /** Replaces every tensor by rank {@code root}'s. */
    void broadcast(List<NDArray> tensors, int root);

    /**
     * For each pair: {@code outs[k]} (world x n elements, flat) receives every rank's {@code ins[k]} (n elements) in
     * rank order. The pairs go as one collective where the backend can (NCCL's coalescing); each pair shares a dtype.
     */
    Pending allGather(List<NDArray> outs, List<NDArray> ins);

    /**
     * For each pair: {@code outs[k]} (n elements) receives the sum over the ranks of their slice
     * {@code [rank * n, (rank + 1) * n)} of {@code ins[k]} (world x n elements).
     */
    Pending reduceScatter(List<NDArray> outs, List<NDArray> ins);

    /** Returns when every rank has called it. */
    void barrier();

    @Override
    void close();
}
