package org.sft4j.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import org.sft4j.model.Decoder;
import org.sft4j.model.Parameter;
import org.sft4j.nd.Distributed;
import org.sft4j.nd.GradientBuckets;

import java.util.ArrayList;
import java.util.List;

/**
 * Data parallel across worker processes, one per GPU (or several sharing the CPU): every rank holds a replica
 * (rank 0's weights broadcast at the start), takes every {@code world}-th row of each global batch, and the
 * gradients, scaled by the global batch's supervised tokens, are summed across ranks in buckets while backward
 * runs. The update is then the one a single process would make on the whole batch.
 */
final class DataParallel implements AutoCloseable {

    private final WorkerEnv env;
    private final Distributed group;
    private final GradientBuckets buckets;
    private final NDManager manager;
    private boolean armed;

    private DataParallel(WorkerEnv env, Distributed group, GradientBuckets buckets, NDManager manager) {
        this.env = env;
        this.group = group;
        this.buckets = buckets;
        this.manager = manager;
    }

    /** Joins the group (blocks until every rank has) and makes every replica equal to rank 0's. */
    static DataParallel join(WorkerEnv env, Decoder model, List<Parameter> trainable) {
        Distributed group = Distributed.join(env.masterAddr(), env.masterPort(), env.rank(), env.world(), model.device());
        List<NDArray> all = new ArrayList<>();
        model.baseParameters().forEach(p -> all.add(p.array()));
        model.loraParameters().forEach(p -> all.add(p.array()));
        group.broadcast(all, 0);
        GradientBuckets buckets = group.overlap(trainable.stream().map(Parameter::array).toList(),
                GradientBuckets.DEFAULT_BUCKET_BYTES);
        return new DataParallel(env, group, buckets, model.manager());
    }

    WorkerEnv env() {
        return env;
    }

    /** This rank's rows of a global batch: rows rank, rank + world, ... (possibly none). */
    static <T> List<T> shard(List<T> rows, int rank, int world) {
        List<T> mine = new ArrayList<>();
        for (int i = rank; i < rows.size(); i += world) {
            mine.add(rows.get(i));
        }
        return mine;
    }

    <T> List<T> shard(List<T> rows) {
        return shard(rows, env.rank(), env.world());
    }

    /** Called just before the backward that completes this step's gradients. */
    void arm() {
        buckets.arm();
        armed = true;
    }

    /** Ends the step's gradient sum (every rank, every step), including buckets backward did not reach. */
    void finishGradients() {
        if (!armed) {
            buckets.arm();   // this rank had nothing to back-propagate in the last micro-batch
        }
        buckets.finish();
        armed = false;
    }

    /** Sums small host values over the ranks (loss sums, counts, stop flags). */
    double[] sum(double... values) {
        float[] f = new float[values.length];
        for (int i = 0; i < f.length; i++) {
            f[i] = (float) values[i];
        }
        try (NDArray a = manager.create(f)) {
            group.allReduceSum(List.of(a));
            float[] r = a.toFloatArray();
            double[] out = new double[r.length];
            for (int i = 0; i < r.length; i++) {
                out[i] = r[i];
            }
            return out;
        }
    }

    @Override
    public void close() {
        buckets.close();
        group.close();
    }
}
