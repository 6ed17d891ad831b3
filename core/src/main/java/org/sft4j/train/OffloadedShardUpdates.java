package org.sft4j.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import org.sft4j.config.TrainArgs;
import org.sft4j.nd.Compute;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * The offloaded optimizer (DeepSpeed's {@code offload_optimizer: cpu}): on a thread of its own, each part's shards
 * are updated in host memory in the order the next forward needs them (embedding first), then sent to the device
 * ({@link ShardGroup#upload}); {@link ShardedModel} waits for a part before gathering it. So the next forward runs
 * on the first parts, and each copy to the device overlaps the update of the next part, while the host still
 * updates the last parts: the host's AdamW (bound by host memory) is most of an offloaded step. Parts kept on the
 * device ({@code offload_optimizer.ratio} below 1: the first ones) are updated there at once, as without offload.
 */
final class OffloadedShardUpdates implements ShardUpdates {

    private final List<List<ShardGroup>> parts = new ArrayList<>();
    private final List<AdamW[]> adamWs = new ArrayList<>();
    private final ShardedModel model;
    private final ExecutorService worker = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "sft4j-offloaded-adamw");
        t.setDaemon(true);
        return t;
    });

    OffloadedShardUpdates(ShardedModel model, TrainArgs args, Compute compute, NDManager manager, int rank) {
        this.model = model;
        try {
            for (int i = 0; i < model.parts(); i++) {
                List<ShardGroup> trained = model.groups(i).stream().filter(ShardGroup::trainable).toList();
                parts.add(trained);
                adamWs.add(trained.isEmpty() ? new AdamW[0]
                        : ShardUpdates.adamWs(trained, args, compute, manager, ShardUpdates.seed(args, rank, i)));
            }
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    @Override
    public void step(double lr, double gradCoef) {
        model.awaitUpdates();
        List<CompletableFuture<Void>> done = new ArrayList<>();
        for (int i = 0; i < parts.size(); i++) {
            done.add(new CompletableFuture<>());
            if (!model.partOffloaded(i)) {   // on the device: queued there now, before the next forward's work
                for (AdamW a : adamWs.get(i)) {
                    a.step(lr, gradCoef);
                }
                done.get(i).complete(null);
            }
        }
        model.updating(done);
        Runnable update = () -> {
            for (int i = 0; i < parts.size(); i++) {
                if (!model.partOffloaded(i)) {
                    continue;
                }
                try {
                    for (AdamW a : adamWs.get(i)) {
                        a.step(lr, gradCoef);
                    }
                    parts.get(i).forEach(ShardGroup::upload);
                    done.get(i).complete(null);
                } catch (Throwable t) {
                    done.subList(i, done.size()).forEach(f -> f.completeExceptionally(t));   // done ones stay done
                    return;
                }
            }
        };
        try {
            worker.execute(update);
        } catch (RuntimeException e) {   // the thread is gone (closed): no part would ever be ready
            done.forEach(f -> f.completeExceptionally(e));
            throw e;
        }
    }

    @Override
    public Map<String, NDArray> moments() {
        model.awaitUpdates();
        List<AdamW> all = new ArrayList<>();
        adamWs.forEach(a -> all.addAll(List.of(a)));
        return ShardUpdates.moments(all);
    }

    @Override
    public int stepCount() {
        model.awaitUpdates();
        return adamWs.stream().filter(a -> a.length > 0).findFirst().map(a -> a[0].stepCount()).orElse(0);
    }

    @Override
    public void setStepCount(int step) {
        model.awaitUpdates();
        adamWs.forEach(pair -> List.of(pair).forEach(a -> a.setStepCount(step)));
    }

    @Override
    public void close() {
        try {
            model.settleUpdates();   // what failed was reported where it was awaited
        } finally {
            worker.shutdownNow();
            adamWs.forEach(pair -> List.of(pair).forEach(AdamW::close));
        }
    }
}
