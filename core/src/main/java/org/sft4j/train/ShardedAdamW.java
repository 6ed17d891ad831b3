package org.sft4j.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import org.sft4j.config.TrainArgs;
import org.sft4j.nd.Compute;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * AdamW over this rank's master shards ({@link ShardGroup#master()}), whose gradients hold this rank's slice of the
 * gradients summed over the ranks: the moments exist for the shard only. Clipping takes the norm over every rank's
 * shard (one sum of squares across the ranks); the update is the one a single process would make, slice by slice;
 * then every working weight is gathered again from the updated shards.
 */
final class ShardedAdamW implements ParameterUpdate {

    private final Zero zero;
    private final Compute compute;
    private final NDManager manager;
    private final List<ShardGroup> trained;
    private final ShardUpdates updates;
    private double clipCoef = 1;   // the clipping coefficient the next update applies as it reads the gradients

    ShardedAdamW(Zero zero, TrainArgs args, Compute compute, NDManager parent) {
        this.zero = zero;
        this.compute = compute;
        this.manager = parent.newSubManager();
        this.trained = zero.sharded().groups().stream().filter(ShardGroup::trainable).toList();
        try {
            this.updates = trained.stream().anyMatch(ShardGroup::offloaded)
                    ? new OffloadedShardUpdates(zero.sharded(), args, compute, manager, zero.rank())
                    : new DeviceShardUpdates(trained, args, compute, manager, zero.rank());
        } catch (RuntimeException e) {
            manager.close();
            throw e;
        }
    }

    private List<NDArray> masters() {
        return trained.stream().map(ShardGroup::master).toList();
    }

    @Override
    public double clipGradients(double maxNorm, double lossScale) {
        List<NDArray> masters = masters();
        double local = lossScale == 1 ? normTakenOnDevice() : Double.NaN;
        if (Double.isNaN(local)) {
            local = compute.clipGradients(masters, 0, lossScale);   // unscaled; this shard's norm
        }
        double total = Math.sqrt(zero.sum(local * local)[0]);
        clipCoef = 1;
        if (maxNorm > 0 && Double.isFinite(total)) {
            // applied by the update as it reads the gradients: one pass over them (GBs of host memory offloaded)
            clipCoef = Math.min(1, maxNorm / (total + 1e-6));
        }
        return total;
    }

    /**
     * Offloaded: this shard's gradient norm from the squared norms taken on the device as the sums left it (no pass
     * over host memory), and those of the shards kept on the device; NaN when one of them is not known there.
     */
    private double normTakenOnDevice() {
        List<ShardGroup> offloaded = trained.stream().filter(ShardGroup::offloaded).toList();
        double squares = offloaded.isEmpty() ? Double.NaN : 0;
        for (ShardGroup g : offloaded) {
            squares += g.gradientSquares();
        }
        List<NDArray> onDevice = trained.stream().filter(g -> !g.offloaded()).map(ShardGroup::master).toList();
        if (!onDevice.isEmpty() && !Double.isNaN(squares)) {
            double norm = compute.clipGradients(onDevice, 0, 1);
            squares += norm * norm;
        }
        return Math.sqrt(squares);
    }

    /** Offloaded, the update runs on while the next step starts: the model waits for each part before gathering it. */
    @Override
    public void step(double lr) {
        updates.step(lr, clipCoef);
        clipCoef = 1;
        zero.afterUpdate();
    }

    /**
     * Frees the master shards' gradients, as {@code zero_grad(set_to_none=True)}: no gradient memory is held through
     * the next forward, and each part's first reduced sum becomes its gradient without a copy. Offloaded shards keep
     * their page-locked gradients, which the next step's first sums overwrite.
     */
    @Override
    public void zeroGradients() {
        clipCoef = 1;   // a step skipped (fp16 overflow) applies no clipping to the next
        compute.releaseGradients(trained.stream().filter(g -> !g.markGradientStale()).map(ShardGroup::master).toList());
    }

    @Override
    public int stepCount() {
        return updates.stepCount();
    }

    /** This rank's optimizer state by shard group: {@code m.<group>}, {@code v.<group>}, Kahan's {@code c.<group>}. */
    Map<String, NDArray> moments() {
        return updates.moments();
    }

    @Override
    public void restore(Path checkpoint, int adamStep) throws IOException {
        Map<String, NDArray> moments = moments();
        try (OptimizerFiles files = OptimizerFiles.open(checkpoint)) {
            for (String which : OptimizerFiles.kinds(moments)) {
                for (ShardGroup g : trained) {
                    NDArray target = moments.get(which + "." + g.name());
                    if (which.equals("c") && g.pieces().stream().noneMatch(p -> files.has("c." + p.param().name()))) {
                        continue;   // written without Kahan buffers: they start at zero, as one process's do
                    }
                    for (ShardGroup.Piece p : g.pieces()) {
                        files.read(which + "." + p.param().name(), p.inParam(), p.count(), target, p.inShard());
                    }
                }
            }
        }
        updates.setStepCount(adamStep);
    }

    /** Writes this rank's moments into {@code file} (see {@link OptimizerFiles}). */
    void save(Path file) throws IOException {
        OptimizerFiles.writeRank(file, trained, moments());
    }

    @Override
    public void close() {
        try {
            updates.close();
        } finally {
            manager.close();
        }
    }
}
