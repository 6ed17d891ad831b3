package org.sft4j.train;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import org.sft4j.model.Decoder;
import org.sft4j.model.Parameter;
import org.sft4j.model.PendingWeights;
import org.sft4j.nd.DataTypes;
import org.sft4j.nd.FlatBuffers;
import org.sft4j.nd.Precision;
import org.sft4j.nd.ProcessGroup;
import org.sft4j.nd.Tensors;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

/**
 * A model whose parameters are sharded over the ranks, part by part (part 0: embedding, final norm and LM head;
 * part i + 1: decoder layer i, as FSDP2 wraps each layer and the root), each part's parameters in a few
 * {@link ShardGroup}s. A part's working buffers are gathered from the master shards before the part computes
 * ({@link #prefetch}, {@link #ensure}) and, under ZeRO-3, given back after ({@link #release}); its gradients are
 * reduce-scattered into the master shards' gradients ({@link #reduce}). With the optimizer offloaded, trainable master
 * shards and their gradients live in host memory (see {@link ShardGroup}): each reduced sum is copied there.
 */
final class ShardedModel implements AutoCloseable {

    private final ProcessGroup group;
    private final NDManager manager;
    private final List<Part> parts = new ArrayList<>();
    private List<CompletableFuture<Void>> updating = List.of();   // by part: an offloaded update still in flight
    private final boolean offloaded;

    /** One part's groups and where its working buffers stand. */
    private static final class Part {
        final List<ShardGroup> groups = new ArrayList<>();
        ProcessGroup.Pending gathering;
        boolean resident = true;   // the working buffers hold memory
        boolean current;           // ... and the master shards' current values
    }

    /** A reduce-scatter in flight and where its result goes. */
    record Reduction(ProcessGroup.Pending pending, List<ShardGroup> groups, List<NDArray> outs, List<NDArray> ins) {}

    /**
     * Shards {@code model} (its parameters become views of working buffers; their old arrays are freed). The working
     * types follow the model's precision: under bf16-mixed every parameter works in bf16 over its fp32 master
     * (DeepSpeed's bf16, FSDP2's {@code param_dtype=bf16}; the passes then compute as bf16-true, see
     * {@link #bf16Working}); under fp16-mixed and ZeRO-3 projection weights are gathered in fp16; else as stored.
     *
     * @param perLayer ZeRO-3: each part is gathered only while it computes
     * @param decayAll weight decay on every parameter (not only matrices)
     * @param offloadRatio the share of the trained parameters whose master shards, gradients (and so AdamW's moments)
     *     live in host memory: those of the last parts (see {@link #firstOffloadedPart}); 0: none
     */
    ShardedModel(Decoder model, ProcessGroup group, boolean perLayer, boolean decayAll, double offloadRatio) {
        this.group = group;
        this.manager = model.manager().newSubManager();
        List<List<Parameter>> byPart = partsOf(model);
        int firstOffloaded = firstOffloadedPart(byPart, offloadRatio);
        NDManager host = firstOffloaded < byPart.size() ? manager.newSubManager(Device.cpu()) : null;
        DataType every = bf16Working(model) ? DataType.BFLOAT16 : null;
        Set<Parameter> products = new HashSet<>();   // gathered in fp16
        if (perLayer && model.compute().precision() == Precision.FP16_MIXED) {
            model.projections().forEach(p -> products.add(p.weight()));
            if (model.lmHead() != model.outerParameters().get(0)) {
                products.add(model.lmHead());
            }
        }
        PendingWeights pending = model.pendingWeights().orElse(null);   // each rank reads only its slices
        boolean was = Tensors.gradMode(false);
        try {
            for (int i = 0; i < byPart.size(); i++) {
                Part part = new Part();
                part.current = false;
                String partName = i == 0 ? "outer" : "layers." + (i - 1);
                Map<String, List<Parameter>> keyed = new LinkedHashMap<>();
                Map<String, DataType> workTypes = new LinkedHashMap<>();
                Map<String, Boolean> decay = new LinkedHashMap<>();
                for (Parameter p : byPart.get(i)) {
                    DataType master = DataTypes.of(p.array());
                    DataType work = every != null ? every : products.contains(p) ? DataType.FLOAT16 : master;
                    boolean decays = p.trainable() && (decayAll || p.array().getShape().dimension() >= 2);
                    String key = (p.trainable() ? (decays ? "decay" : "nodecay") : "frozen") + "-"
                            + typeName(master) + (work == master ? "" : "-as-" + typeName(work));
                    keyed.computeIfAbsent(key, k -> new ArrayList<>()).add(p);
                    workTypes.put(key, work);
                    decay.put(key, decays);
                }
                for (Map.Entry<String, List<Parameter>> e : keyed.entrySet()) {
                    part.groups.add(new ShardGroup(partName + "." + e.getKey(), e.getValue(), workTypes.get(e.getKey()),
                            decay.get(e.getKey()), group.rank(), group.world(), manager, i >= firstOffloaded ? host : null,
                            pending));
                }
                parts.add(part);
                if (perLayer) {
                    release(i);   // built one part at a time: the whole model is never gathered at once
                }
            }
        } finally {
            Tensors.gradMode(was);
        }
        this.offloaded = groups().stream().anyMatch(ShardGroup::offloaded);
    }

    /** {@code model}'s parameters by part: the outer ones (embedding, final norm, LM head), then each layer's. */
    static List<List<Parameter>> partsOf(Decoder model) {
        List<List<Parameter>> byPart = new ArrayList<>();
        byPart.add(model.outerParameters());
        for (int i = 0; i < model.numLayers(); i++) {
            byPart.add(model.layerParameters(i));
        }
        return byPart;
    }

    /**
     * The first part whose optimizer shards are offloaded when {@code ratio} of the trained parameters' state is: the
     * fewest last parts that hold at least that share ({@code parts.size()} at 0: none). The first parts stay on the
     * device, so the next forward computes on them while the host still updates the offloaded ones.
     */
    static int firstOffloadedPart(List<List<Parameter>> parts, double ratio) {
        long total = parts.stream().mapToLong(ShardedModel::trainedElements).sum();
        long offloaded = 0;
        int first = parts.size();
        while (ratio > 0 && first > 0 && offloaded < ratio * total) {
            first--;
            offloaded += trainedElements(parts.get(first));
        }
        return first;
    }

    private static long trainedElements(List<Parameter> part) {
        return part.stream().filter(Parameter::trainable).mapToLong(p -> p.array().size()).sum();
    }

    /** Whether {@code model}, sharded, works from a bf16 copy of every parameter (its precision is bf16-mixed). */
    static boolean bf16Working(Decoder model) {
        return model.compute().precision() == Precision.BF16_MIXED;
    }

    private static String typeName(DataType t) {
        return t == DataType.BFLOAT16 ? "bf16" : t == DataType.FLOAT16 ? "fp16" : "fp32";
    }

    int parts() {
        return parts.size();
    }

    /** Whether the optimizer's shards are in host memory (see {@link ShardGroup#offloaded}), all or some of them. */
    boolean offloaded() {
        return offloaded;
    }

    /** The first part whose trained shards are offloaded ({@link #parts()} when none is). */
    int firstOffloadedPart() {
        for (int i = 0; i < parts.size(); i++) {
            if (partOffloaded(i)) {
                return i;
            }
        }
        return parts.size();
    }

    /** Whether part {@code i}'s trained shards are in host memory. */
    boolean partOffloaded(int i) {
        return parts.get(i).groups.stream().anyMatch(ShardGroup::offloaded);
    }

    /** Every group of every part, part by part. */
    List<ShardGroup> groups() {
        List<ShardGroup> all = new ArrayList<>();
        parts.forEach(p -> all.addAll(p.groups));
        return all;
    }

    List<ShardGroup> groups(int part) {
        return parts.get(part).groups;
    }

    /**
     * An update of the master shards runs on elsewhere (offloaded: on the host, part by part): {@code done.get(i)}
     * completes when part i's shards are updated and on their way to the device. Part i is gathered only after.
     */
    void updating(List<CompletableFuture<Void>> done) {
        this.updating = List.copyOf(done);
    }

    private void awaitUpdate(int i) {
        if (!updating.isEmpty()) {
            ShardUpdates.await(updating.get(i));
        }
    }

    /** Waits until an update in flight is done (its shards back on the device); rethrows what stopped it. */
    void awaitUpdates() {
        updating.forEach(ShardUpdates::await);
    }

    /** Waits until an update in flight has ended, however: its failure was reported where it was awaited. */
    void settleUpdates() {
        updating.forEach(f -> f.exceptionally(t -> null).join());
    }

    /** Starts gathering part {@code i}'s current values into its working buffers, unless they hold them already. */
    void prefetch(int i) {
        Part part = parts.get(i);
        if (part.current || part.gathering != null) {
            return;
        }
        awaitUpdate(i);
        List<NDArray> outs = new ArrayList<>();
        List<NDArray> ins = new ArrayList<>();
        for (ShardGroup g : part.groups) {
            if (!part.resident) {
                FlatBuffers.reserve(g.work());
            }
            outs.add(g.work());
            ins.add(g.gatherInput());
        }
        part.resident = true;
        part.gathering = group.allGather(outs, ins);
        for (int k = 0; k < ins.size(); k++) {
            if (!part.groups.get(k).owns(ins.get(k))) {
                ins.get(k).close();   // the collective holds what it still reads
            }
        }
    }

    /** Part {@code i}'s working buffers hold the current values when this returns (on a GPU: for later work). */
    void ensure(int i) {
        prefetch(i);
        Part part = parts.get(i);
        if (part.gathering != null) {
            part.gathering.join();
            part.gathering = null;
            part.current = true;
        }
    }

    /**
     * Gives part {@code i}'s working memory back where that is possible (the distributed library is loaded); the
     * parameters must not be read until {@link #ensure}. Elsewhere the buffers keep their (still current) values.
     */
    void release(int i) {
        Part part = parts.get(i);
        if (!FlatBuffers.releasable() || !part.resident) {
            return;
        }
        if (part.gathering != null) {
            part.gathering.join();
            part.gathering = null;
        }
        part.groups.forEach(g -> FlatBuffers.release(g.work()));
        part.resident = false;
        part.current = false;
    }

    /**
     * The master shards changed (an optimizer step): every working buffer must be gathered again (offloaded shards
     * are sent to the device by whoever updated them, see {@link #updating}).
     */
    void invalidate() {
        parts.forEach(p -> p.current = false);
    }

    /**
     * Starts summing part {@code i}'s gradients over the ranks: each trainable group's parameter gradients are laid
     * flat (and dropped from the parameters) and reduce-scattered; {@link #accumulate} adds the result to the master
     * shards' gradients once it is joined. Null when the part trains nothing.
     */
    Reduction reduce(int i) {
        List<ShardGroup> trained = new ArrayList<>();
        List<NDArray> ins = new ArrayList<>();
        List<NDArray> outs = new ArrayList<>();
        for (ShardGroup g : parts.get(i).groups) {
            if (!g.trainable()) {
                continue;
            }
            DataType type = g.masterType();
            NDArray flat = Tensors.keep(DataTypes.empty(manager, new Shape(g.shard() * group.world()), type), manager);
            FlatBuffers.flattenGradients(g.arrays(), flat, true);
            trained.add(g);
            ins.add(flat);
            // one rank: the sum is the flat gradients themselves, no second buffer
            outs.add(group.world() == 1 ? flat : Tensors.keep(DataTypes.empty(manager, new Shape(g.shard()), type), manager));
        }
        if (trained.isEmpty()) {
            return null;
        }
        return new Reduction(group.world() == 1 ? ProcessGroup.DONE : group.reduceScatter(outs, ins), trained, outs, ins);
    }

    /** Joins a reduction and adds its sums to the master shards' gradients (offloaded: copied to host memory first). */
    static void accumulate(Reduction r) {
        r.pending().join();
        for (int k = 0; k < r.groups().size(); k++) {
            ShardGroup g = r.groups().get(k);
            NDArray sum = r.outs().get(k);
            if (g.offloaded()) {
                g.receiveGradient(sum);
            } else {
                FlatBuffers.accumulateGradient(g.master(), sum);
            }
            sum.close();
            if (r.ins().get(k) != r.outs().get(k)) {
                r.ins().get(k).close();
            }
        }
    }

    /**
     * Offloaded: waits until every gradient sent to host memory has arrived (the copies are asynchronous), and zeroes
     * the gradient of a group that received none this step (one that never received any keeps none). Before the optimizer reads them.
     */
    void awaitHostGradients() {
        awaitUpdates();
        boolean any = false;
        for (ShardGroup g : groups()) {
            if (g.offloaded()) {
                any = true;
                if (g.gradientStale()) {
                    try (NDArray old = Tensors.gradOrNull(g.master())) {
                        if (old != null) {
                            Tensors.zeroGrad(g.master());   // an earlier step's: this one sent none
                        }
                    }
                }
            }
        }
        if (any) {
            FlatBuffers.awaitDevice(parts.get(0).groups.get(0).work());
        }
    }

    /** Drops the gradients of every working parameter (those accumulated without being reduced). */
    void clearWorkGradients() {
        for (ShardGroup g : groups()) {
            if (g.trainable()) {
                FlatBuffers.clearGradients(g.arrays());
            }
        }
    }

    /**
     * Every rank's master values of {@code groups}, gathered into new buffers in the master type (for checkpoints):
     * by group, the full flat values; the caller closes them.
     */
    List<NDArray> gatherMasters(List<ShardGroup> groups) {
        awaitUpdates();
        List<NDArray> outs = new ArrayList<>();
        List<NDArray> ins = new ArrayList<>();
        for (ShardGroup g : groups) {
            outs.add(Tensors.keep(FlatBuffers.zeros(manager, g.shard() * group.world(), g.masterType()), manager));
            ins.add(g.masterOnDevice());
        }
        group.allGather(outs, ins).join();
        for (int k = 0; k < ins.size(); k++) {
            if (ins.get(k) != groups.get(k).master()) {
                ins.get(k).close();
            }
        }
        return outs;
    }

    /** The part a parameter belongs to. */
    int partOf(Parameter p) {
        for (int i = 0; i < parts.size(); i++) {
            for (ShardGroup g : parts.get(i).groups) {
                if (g.params().contains(p)) {
                    return i;
                }
            }
        }
        throw new IllegalArgumentException(p.name() + " is not sharded");
    }

    @Override
    public void close() {
        settleUpdates();
        for (Part p : parts) {
            if (p.gathering != null) {
                p.gathering.join();
                p.gathering = null;
            }
        }
        manager.close();
    }
}
