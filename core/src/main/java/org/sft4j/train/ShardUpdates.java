package org.sft4j.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import org.sft4j.config.TrainArgs;
import org.sft4j.model.Parameter;
import org.sft4j.nd.Compute;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

/**
 * The AdamW updates of this rank's master shards ({@link ShardedAdamW}'s arithmetic, without the clipping): one
 * AdamW per decay group over every trained shard, on the device ({@link DeviceShardUpdates}); or, with the optimizer
 * offloaded, one per part and decay group, run part by part on a thread of their own ({@link OffloadedShardUpdates}).
 */
interface ShardUpdates extends AutoCloseable {

    /** Starts (offloaded) or makes (on the device) one update; the gradients are multiplied by {@code gradCoef}. */
    void step(double lr, double gradCoef);

    /** AdamW's state by shard group ({@code m.<group>}, {@code v.<group>}, Kahan's {@code c.<group>}). */
    Map<String, NDArray> moments();

    int stepCount();

    void setStepCount(int step);

    @Override
    void close();

    /** A seed of its own for each rank (and part): stochastic rounding draws independent noise on each slice. */
    static long seed(TrainArgs args, int rank, int part) {
        return args.seed() + 7919L * rank + 1_000_033L * part;
    }

    /** One AdamW with weight decay and one without over {@code groups}' master shards. */
    static AdamW[] adamWs(List<ShardGroup> groups, TrainArgs args, Compute compute, NDManager manager, long seed) {
        List<Parameter> decay = new ArrayList<>();
        List<Parameter> noDecay = new ArrayList<>();
        for (ShardGroup g : groups) {
            (g.decays() ? decay : noDecay).add(new Parameter(g.name(), g.master(), true));
        }
        // per decay group: the shards are flat, so AdamW cannot tell matrices from norms by their shape
        AdamW d = new AdamW(decay, args.adamBeta1(), args.adamBeta2(), args.adamEpsilon(), args.weightDecay(), true,
                compute, manager, args.bf16Update(), seed);
        try {
            return new AdamW[] {d, new AdamW(noDecay, args.adamBeta1(), args.adamBeta2(), args.adamEpsilon(), 0, true,
                    compute, manager, args.bf16Update(), seed)};
        } catch (RuntimeException e) {
            d.close();
            throw e;
        }
    }

    static Map<String, NDArray> moments(List<AdamW> adamWs) {
        Map<String, NDArray> all = new LinkedHashMap<>();
        adamWs.forEach(a -> all.putAll(a.moments()));
        adamWs.forEach(a -> all.putAll(a.compensation()));
        return all;
    }

    /** Waits for {@code f}; what stopped it is rethrown as it was thrown. */
    static void await(CompletableFuture<Void> f) {
        try {
            f.join();
        } catch (CompletionException e) {
            if (e.getCause() instanceof RuntimeException r) {
                throw r;
            }
            if (e.getCause() instanceof Error err) {
                throw err;
            }
            throw e;
        }
    }
}
