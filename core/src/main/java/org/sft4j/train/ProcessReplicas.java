package org.sft4j.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import org.sft4j.model.Decoder;
import org.sft4j.nd.ProcessGroup;

import java.util.ArrayList;
import java.util.List;
import java.util.function.BooleanSupplier;

/**
 * What the replicas of a multi-process run share, replicated ({@link DataParallel}) or sharded ({@link Zero}): rank
 * and world from the process group, every {@code world}-th row of a global batch, the loss sum that carries the stop
 * agreement ({@link RankAgreement}), small host sums in fp64, and rank 0's weights at the start.
 */
abstract class ProcessReplicas implements Replicas {

    final ProcessGroup group;
    final NDManager manager;
    private final RankAgreement agreement;

    ProcessReplicas(ProcessGroup group, NDManager manager, BooleanSupplier stopRequested) {
        this.group = group;
        this.manager = manager;
        this.agreement = new RankAgreement(stopRequested);
    }

    /** Makes every rank's weights, base and adapters, rank 0's. */
    static void takeRankZerosWeights(ProcessGroup group, Decoder model) {
        List<NDArray> all = new ArrayList<>();
        // weights still in the checkpoint's files are the same on every rank: each reads them there
        model.baseParameters().stream().filter(p -> model.pendingWeights().map(w -> !w.holds(p)).orElse(true))
                .forEach(p -> all.add(p.array()));
        model.loraParameters().forEach(p -> all.add(p.array()));
        group.broadcast(all, 0);
    }

    /** This rank's rows of a global batch: rows rank, rank + world, ... (possibly none). */
    static <T> List<T> shard(List<T> rows, int rank, int world) {
        List<T> mine = new ArrayList<>();
        for (int i = rank; i < rows.size(); i += world) {
            mine.add(rows.get(i));
        }
        return mine;
    }

    ProcessGroup group() {
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

    @Override
    public <T> List<T> shard(List<T> rows) {
        return shard(rows, group.rank(), group.world());
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
        return HostValues.sum(group, manager, values);   // in fp64: token counts stay exact past 2^24
    }
}
