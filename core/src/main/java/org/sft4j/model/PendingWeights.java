package org.sft4j.model;

import ai.djl.ndarray.NDArray;
import org.sft4j.model.io.CheckpointFiles;
import org.sft4j.model.io.TensorReader;

import java.io.IOException;
import java.util.IdentityHashMap;
import java.util.Map;

/**
 * The checkpoint tensors of a model loaded to be sharded ({@link Decoder#loadToShard}), not read yet: each of its
 * parameters stands for its tensor (shape and type, no memory) until a sharded run reads the slice its rank keeps, so
 * that no rank ever holds the whole model, as DeepSpeed's {@code zero.Init} partitions a model as it is built.
 */
public final class PendingWeights implements AutoCloseable {

    private final CheckpointFiles files;
    private final Map<Parameter, String> stored = new IdentityHashMap<>();   // parameter -> its name in the files

    PendingWeights(CheckpointFiles files) {
        this.files = files;
    }

    void add(Parameter p, String nameInFiles) {
        stored.put(p, nameInFiles);
    }

    /** Whether {@code p}'s values are still in the files (not broadcast, not computed with, read by slices). */
    public boolean holds(Parameter p) {
        return stored.containsKey(p);
    }

    /**
     * Writes elements {@code [from, from + count)} of {@code p} (flattened) into elements {@code [at, at + count)} of
     * the flat {@code target}, converted to its type.
     */
    public void readSlice(Parameter p, long from, long count, NDArray target, long at) throws IOException {
        String name = stored.get(p);
        if (name == null) {
            throw new IllegalArgumentException(p.name() + " is not read from the checkpoint");
        }
        TensorReader.readRange(files.fileOf(name), name, from, count, target, at);
    }

    /** Where the tensors are read from. */
    public java.nio.file.Path dir() {
        return files.dir();
    }

    @Override
    public void close() throws IOException {
        files.close();
    }
}
