package org.sft4j.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import org.sft4j.model.Parameter;
import org.sft4j.model.PendingWeights;
import org.sft4j.nd.DataTypes;
import org.sft4j.nd.FlatBuffers;
import org.sft4j.nd.Tensors;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;

/**
 * Parameters of one part of the model laid one after another in a flat buffer of {@code world x shard} elements (the
 * end padded with zeros), of which each rank owns one slice: rank r elements {@code [r * shard, (r + 1) * shard)}.
 * <ul>
 *   <li>{@link #master()}: this rank's slice of the values, in the type the model stores them (fp32, or bf16 under
 *       bf16-true; LoRA adapters fp32); what AdamW updates, its gradient summed over the ranks.</li>
 *   <li>the working buffer: every rank's slices gathered, in the type the layers compute with (under bf16-mixed
 *       bf16 for every parameter, as DeepSpeed's bf16 and FSDP2's bf16 all-gathers; under ZeRO-3 and fp16-mixed fp16
 *       for projection weights); the model's parameters are views of it.</li>
 * </ul>
 * The parameters of a group share a working type, whether they train and whether weight decay applies to them.
 *
 * <p>Offloaded (DeepSpeed's {@code offload_optimizer: cpu}), a trainable group's master slice lives in host memory,
 * where AdamW updates it; the device keeps the slice in the working type ({@link #gatherInput()}), uploaded after each
 * update ({@link #upload()}), as DeepSpeed keeps each rank's 16-bit partition on its GPU.
 */
final class ShardGroup {

    private final String name;
    private final List<Parameter> params;
    private final long[] offsets;
    private final long shard;
    private final int rank;
    private final DataType workType;
    private final boolean trainable;
    private final boolean decays;
    private final NDArray master;
    private final NDArray work;
    private final NDArray uploaded;   // offloaded: this rank's slice in the working type, on the device; else null
    private boolean gradientStale;    // offloaded: the master's gradient holds an earlier step's values
    private NDArray gradientSquares;  // offloaded: the squared norm of this step's one sum, on the device; null
                                      // before any sum and once several were added in host memory (accumulation)

    /**
     * Copies this rank's slice of {@code params}' current values into a new master shard and makes the parameters
     * views of a new working buffer (their old arrays are closed; the buffer's values are gathered before use).
     *
     * @param host where an offloaded master slice lives (a manager on the CPU), or null: on {@code manager}'s device
     * @param pending the checkpoint the parameters it holds are read from, only this rank's slice (or null)
     */
    ShardGroup(String name, List<Parameter> params, DataType workType, boolean decays, int rank, int world,
               NDManager manager, NDManager host, PendingWeights pending) {
        this.name = name;
        this.params = List.copyOf(params);
        this.rank = rank;
        this.workType = workType;
        this.decays = decays;
        this.trainable = params.get(0).trainable();
        this.offsets = new long[params.size() + 1];
        for (int k = 0; k < params.size(); k++) {
            offsets[k + 1] = offsets[k] + params.get(k).array().size();
        }
        this.shard = (offsets[params.size()] + world - 1) / world;
        DataType masterType = DataTypes.of(params.get(0).array());
        NDArray slice = Tensors.keep(FlatBuffers.zeros(manager, shard, masterType), manager);
        for (int k = 0; k < params.size(); k++) {
            long from = Math.max(offsets[k], start());
            long to = Math.min(offsets[k + 1], start() + shard);
            if (from < to && pending != null && pending.holds(params.get(k))) {
                readSlice(pending, params.get(k), from - offsets[k], to - from, slice, from - start());
            } else if (from < to) {
                FlatBuffers.copySlice(slice, from - start(), params.get(k).array(), from - offsets[k], to - from);
            }
        }
        if (host != null && trainable) {
            // a copy even where the host is the device (CPU runs), so that CPU tests run the offloaded path with its
            // own buffers
            this.master = Tensors.keep(FlatBuffers.hostCopy(slice, host), host);
            NDArray cast = DataTypes.cast(slice, workType);
            this.uploaded = Tensors.keep(cast, manager);
            if (cast != slice) {
                slice.close();
            }
        } else {
            this.master = slice;
            this.uploaded = null;
        }
        master.setRequiresGradient(trainable);
        this.gradientStale = uploaded != null;   // there is no gradient yet: the first sum is the gradient
        this.work = Tensors.keep(FlatBuffers.zeros(manager, shard * world, workType), manager);
        for (int k = 0; k < params.size(); k++) {
            Parameter p = params.get(k);
            p.replace(Tensors.keep(FlatBuffers.view(work, offsets[k], p.array().getShape()), manager));
        }
    }

    private static void readSlice(PendingWeights pending, Parameter p, long from, long count, NDArray slice, long at) {
        try {
            pending.readSlice(p, from, count, slice, at);
        } catch (IOException e) {
            throw new UncheckedIOException(pending.dir() + ": reading " + p.name() + ": " + e.getMessage(), e);
        }
    }

    /** Names this group in checkpoints and messages, e.g. {@code layers.3.decay}. */
    String name() {
        return name;
    }

    List<Parameter> params() {
        return params;
    }

    List<NDArray> arrays() {
        return params.stream().map(Parameter::array).toList();
    }

    boolean trainable() {
        return trainable;
    }

    boolean decays() {
        return decays;
    }

    /** This rank's slice of the values (a leaf whose gradient is this rank's slice of the summed gradients). */
    NDArray master() {
        return master;
    }

    /** The working buffer the parameters are views of. */
    NDArray work() {
        return work;
    }

    DataType workType() {
        return workType;
    }

    DataType masterType() {
        return DataTypes.of(master);
    }

    /** Elements per rank. */
    long shard() {
        return shard;
    }

    /** Where this rank's slice starts in the flat layout. */
    long start() {
        return rank * shard;
    }

    /** Where parameter {@code k} starts in the flat layout; {@code offset(size)} is where the last ends. */
    long offset(int k) {
        return offsets[k];
    }

    /**
     * What the working buffer gathers from this rank: the master slice in the working type, on the device (a new
     * array, unless {@link #owns} it).
     */
    NDArray gatherInput() {
        return uploaded != null ? uploaded : DataTypes.cast(master, workType);
    }

    /** Whether {@code a} is one of this group's own buffers (not to be closed by whoever was handed it). */
    boolean owns(NDArray a) {
        return a == master || a == uploaded;
    }

    /** Whether the master slice lives in host memory, away from the working buffer's device. */
    boolean offloaded() {
        return uploaded != null;
    }

    /** The master slice on the working buffer's device, for a collective (a new array when offloaded, else itself). */
    NDArray masterOnDevice() {
        return uploaded != null ? FlatBuffers.copyTo(master, work.getManager()) : master;
    }

    /** Offloaded: copies the updated master slice to the device's working-type slice. */
    void upload() {
        if (uploaded != null) {
            FlatBuffers.upload(uploaded, master);
        }
    }

    /**
     * Offloaded: the master's gradient receives {@code sum} (this rank's reduced slice, on the device), replacing an
     * earlier step's values or adding to this step's (gradient accumulation). The first sum's squared norm is taken
     * on the device on the way (see {@link #gradientSquares}).
     */
    void receiveGradient(NDArray sum) {
        setGradientSquares(gradientStale ? FlatBuffers.squaredNorm(sum) : null);
        FlatBuffers.gradientToHost(master, sum, gradientStale);
        gradientStale = false;
    }

    /**
     * Offloaded: the step is over; the next sum received replaces the gradient instead of adding to it (no pass over
     * host memory to zero it). Returns whether this group is offloaded (else its gradient is for the caller to free).
     */
    boolean markGradientStale() {
        gradientStale = uploaded != null;
        setGradientSquares(null);
        return gradientStale;
    }

    /** Whether no sum reached the master's gradient since {@link #markGradientStale}. */
    boolean gradientStale() {
        return gradientStale;
    }

    /**
     * Offloaded: the squared 2-norm of the gradient this step gave the master (0 when none), as taken on the device
     * before the gradient left it; NaN when it is not known there (several sums added in host memory, or not
     * offloaded). Reading it waits for the device.
     */
    double gradientSquares() {
        if (uploaded == null) {
            return Double.NaN;
        }
        if (gradientStale) {
            return 0;
        }
        return gradientSquares == null ? Double.NaN : Tensors.scalar(gradientSquares);
    }

    private void setGradientSquares(NDArray squares) {
        if (gradientSquares != null) {
            gradientSquares.close();
        }
        gradientSquares = squares == null ? null : Tensors.keep(squares, work.getManager());
    }

    /** The parameters of this group whose elements overlap this rank's slice, with the overlap. */
    List<Piece> pieces() {
        List<Piece> out = new ArrayList<>();
        for (int k = 0; k < params.size(); k++) {
            long from = Math.max(offsets[k], start());
            long to = Math.min(offsets[k + 1], start() + shard);
            if (from < to) {
                out.add(new Piece(params.get(k), from - offsets[k], from - start(), to - from));
            }
        }
        return out;
    }

    /**
     * Elements {@code [inParam, inParam + count)} of parameter {@code param} (flattened) are elements
     * {@code [inShard, inShard + count)} of this rank's slice.
     */
    record Piece(Parameter param, long inParam, long inShard, long count) {}
}
