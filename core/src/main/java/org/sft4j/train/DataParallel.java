package org.sft4j.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import org.sft4j.model.Decoder;
import org.sft4j.model.Parameter;
import org.sft4j.nd.Distributed;
import org.sft4j.nd.GradientBuckets;

import java.util.ArrayList;
import java.util.List;
import java.util.function.BooleanSupplier;

/**
 * Data parallel across worker processes, one per GPU (or several sharing the CPU): every rank holds a replica
 * (rank 0's weights broadcast at the start), takes every {@code world}-th row of each global batch, and the
 * gradients, scaled by the global batch's supervised tokens, are summed across ranks in buckets while backward
 * runs. The update is then the one a single process would make on the whole batch.
 */
final class DataParallel implements Replicas {

    private final Distributed group;
    private final GradientBuckets buckets;
    private final NDManager manager;
    private final RankAgreement agreement;
    private boolean armed;

    private DataParallel(Distributed group, GradientBuckets buckets, NDManager manager,
                         BooleanSupplier stopRequested) {
        this.group = group;
        this.buckets = buckets;
        this.manager = manager;
        this.agreement = new RankAgreement(stopRequested);
    }

    /** Replicas over {@code group} (which they close when closed); every replica is made equal to rank 0's. */
    static DataParallel over(Distributed group, Decoder model, List<Parameter> trainable, BooleanSupplier stopRequested) {
        List<NDArray> all = new ArrayList<>();
        model.baseParameters().forEach(p -> all.add(p.array()));
        model.loraParameters().forEach(p -> all.add(p.array()));
        group.broadcast(all, 0);
        GradientBuckets buckets = group.overlap(trainable.stream().map(Parameter::array).toList(),
                GradientBuckets.DEFAULT_BUCKET_BYTES);
        return new DataParallel(group, buckets, model.manager(), stopRequested);
    }

    Distributed group() {
        return group;
    }

    @Override
    public boolean main() {
        return group.rank() == 0;
    }

    @Override
    public int rank() {
        return group.rank();
    }

    @Override
    public int world() {
        return group.world();
    }

    /** This rank's rows of a global batch: rows rank, rank + world, ... (possibly none). */
    static <T> List<T> shard(List<T> rows, int rank, int world) {
        List<T> mine = new ArrayList<>();
        for (int i = rank; i < rows.size(); i += world) {
            mine.add(rows.get(i));
        }
        return mine;
    }

    @Override
    public <T> List<T> shard(List<T> rows) {
        return shard(rows, group.rank(), group.world());
    }

    @Override
    public void beforeFinalBackward() {
        buckets.arm();
        armed = true;
    }

    /** Ends the step's gradient sum (every rank, every step), including buckets backward did not reach. */
    @Override
    public void finishGradients() {
        if (!armed) {
            buckets.arm();   // this rank had nothing to back-propagate in the last micro-batch
        }
        buckets.finish();
        armed = false;
    }

    @Override
    public double sumLoss(double local) {
        return agreement.sumLoss(local, this::sum);
    }

    @Override
    public boolean stopAgreed() {
        return agreement.stopAgreed();
    }

    /** The watchdog the rank's failures are reported to (a multi-process run). */
    void watch(Watchdog w) {
        agreement.watch(w);
    }

    @Override
    public void failed(RuntimeException e) {
        agreement.failed(e);
    }

    @Override
    public double[] sum(double... values) {
        return HostValues.sum(group, manager, values);   // in fp64, as ZeRO's: token counts stay exact past 2^24
    }

    @Override
    public void close() {
        buckets.close();
        group.close();
    }
}
