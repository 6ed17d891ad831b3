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
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * The AdamW updates of this rank's master shards ({@link ShardedAdamW}'s arithmetic, without the clipping): one
 * AdamW per decay group over every trained shard, on the device; or, with the optimizer offloaded, one per part and
 * decay group, run part by part on a thread of their own.
 */
interface ShardUpdates extends AutoCloseable {

    /** Starts (offloaded) or makes (on the device) one update; the gradients are multiplied by {@code gradCoef}. */
    void step(double lr, double gradCoef);

    /** Waits until an update in flight is done (its shards back on the device); rethrows what stopped it. */
    void awaitAll();

    /** AdamW's state by shard group ({@code m.<group>}, {@code v.<group>}, Kahan's {@code c.<group>}). */
    Map<String, NDArray> moments();

    int stepCount();

    void setStepCount(int step);

    @Override
    void close();

    /** A seed of its own for each rank (and part): stochastic rounding draws independent noise on each slice. */
    private static long seed(TrainArgs args, int rank, int part) {
        return args.seed() + 7919L * rank + 1_000_033L * part;
    }

    /** One AdamW with weight decay and one without over {@code groups}' master shards. */
    private static AdamW[] adamWs(List<ShardGroup> groups, TrainArgs args, Compute compute, NDManager manager, long seed) {
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

    private static Map<String, NDArray> moments(List<AdamW> adamWs) {
        Map<String, NDArray> all = new LinkedHashMap<>();
        adamWs.forEach(a -> all.putAll(a.moments()));
        adamWs.forEach(a -> all.putAll(a.compensation()));
        return all;
    }

    /** The shards' optimizer on their device: two AdamWs, each one fused update over all its shards. */
    final class OnDevice implements ShardUpdates {

        private final AdamW[] adamWs;

        OnDevice(List<ShardGroup> trained, TrainArgs args, Compute compute, NDManager manager, int rank) {
            this.adamWs = adamWs(trained, args, compute, manager, seed(args, rank, 0));
        }

        @Override
        public void step(double lr, double gradCoef) {
            for (AdamW a : adamWs) {
                a.step(lr, gradCoef);
            }
        }

        @Override
        public void awaitAll() {}

        @Override
        public Map<String, NDArray> moments() {
            return ShardUpdates.moments(List.of(adamWs));
        }

        @Override
        public int stepCount() {
            return adamWs[0].stepCount();
        }

        @Override
        public void setStepCount(int step) {
            for (AdamW a : adamWs) {
                a.setStepCount(step);
            }
        }

        @Override
        public void close() {
            for (AdamW a : adamWs) {
                a.close();
            }
        }
    }

    /**
     * The offloaded optimizer (DeepSpeed's {@code offload_optimizer: cpu}): on a thread of its own, each part's shards
     * are updated in host memory in the order the next forward needs them (embedding first), then sent to the device
     * ({@link ShardGroup#upload}); {@link ShardedModel} waits for a part before gathering it. So the next forward runs
     * on the first parts, and each copy to the device overlaps the update of the next part, while the host still
     * updates the last parts: the host's AdamW (bound by host memory) is most of an offloaded step.
     */
    final class Offloaded implements ShardUpdates {

        private final List<List<ShardGroup>> parts = new ArrayList<>();
        private final List<AdamW[]> adamWs = new ArrayList<>();
        private final ShardedModel model;
        private final ExecutorService worker = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "sft4j-offloaded-adamw");
            t.setDaemon(true);
            return t;
        });
        private List<CompletableFuture<Void>> inFlight = List.of();

        Offloaded(ShardedModel model, TrainArgs args, Compute compute, NDManager manager, int rank) {
            this.model = model;
            try {
                for (int i = 0; i < model.parts(); i++) {
                    List<ShardGroup> trained = model.groups(i).stream().filter(ShardGroup::trainable).toList();
                    parts.add(trained);
                    adamWs.add(trained.isEmpty() ? new AdamW[0] : adamWs(trained, args, compute, manager, seed(args, rank, i)));
                }
            } catch (RuntimeException e) {
                close();
                throw e;
            }
        }

        @Override
        public void step(double lr, double gradCoef) {
            awaitAll();
            List<CompletableFuture<Void>> done = new ArrayList<>();
            for (int i = 0; i < parts.size(); i++) {
                done.add(new CompletableFuture<>());
            }
            inFlight = done;
            model.updating(done);
            worker.execute(() -> {
                for (int i = 0; i < parts.size(); i++) {
                    try {
                        for (AdamW a : adamWs.get(i)) {
                            a.step(lr, gradCoef);
                        }
                        parts.get(i).forEach(ShardGroup::upload);
                        done.get(i).complete(null);
                    } catch (Throwable t) {
                        done.subList(i, done.size()).forEach(f -> f.completeExceptionally(t));
                        return;
                    }
                }
            });
        }

        @Override
        public void awaitAll() {
            inFlight.forEach(ShardUpdates::await);
        }

        @Override
        public Map<String, NDArray> moments() {
            awaitAll();
            List<AdamW> all = new ArrayList<>();
            adamWs.forEach(a -> all.addAll(List.of(a)));
            return ShardUpdates.moments(all);
        }

        @Override
        public int stepCount() {
            awaitAll();
            return adamWs.stream().filter(a -> a.length > 0).findFirst().map(a -> a[0].stepCount()).orElse(0);
        }

        @Override
        public void setStepCount(int step) {
            awaitAll();
            adamWs.forEach(pair -> List.of(pair).forEach(a -> a.setStepCount(step)));
        }

        @Override
        public void close() {
            try {
                inFlight.forEach(f -> f.exceptionally(t -> null).join());   // what failed was reported where it was awaited
            } finally {
                worker.shutdownNow();
                adamWs.forEach(pair -> List.of(pair).forEach(AdamW::close));
            }
        }
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
