package org.sft4j.nd;

import ai.djl.ndarray.NDArray;

import java.util.List;

/**
 * The process group of a run that is its only rank ({@link ProcessGroup#alone()}): a sum over one rank is the value
 * itself, so each collective is at most a copy. What lets ZeRO run in one process, as DeepSpeed does on one GPU.
 */
final class SingleRankGroup implements ProcessGroup {

    @Override
    public int rank() {
        return 0;
    }

    @Override
    public int world() {
        return 1;
    }

    @Override
    public void allReduceSum(List<NDArray> tensors) {
    }

    @Override
    public void broadcast(List<NDArray> tensors, int root) {
        if (root != 0) {
            throw new IllegalArgumentException("rank " + root + " of a group of one");
        }
    }

    @Override
    public Pending allGather(List<NDArray> outs, List<NDArray> ins) {
        return copy(outs, ins);
    }

    @Override
    public Pending reduceScatter(List<NDArray> outs, List<NDArray> ins) {
        return copy(outs, ins);
    }

    /**
     * As a collective writes: the buffers' autograd version stays (a layer's weights are gathered again for its
     * backward while its forward's graph holds views of them).
     */
    private static Pending copy(List<NDArray> outs, List<NDArray> ins) {
        for (int k = 0; k < outs.size(); k++) {
            if (outs.get(k) != ins.get(k)) {
                FlatBuffers.overwrite(outs.get(k), ins.get(k));
            }
        }
        return DONE;
    }

    @Override
    public void barrier() {
    }

    @Override
    public void close() {
    }
}
