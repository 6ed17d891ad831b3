package org.sft4j.testing;

import org.sft4j.model.io.SafetensorsFile;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;

/** Reads tensors of a fixture's {@code expected.safetensors}. */
public final class Expected implements AutoCloseable {

    private final SafetensorsFile file;

    public Expected(Path path) throws IOException {
        this.file = SafetensorsFile.open(path);
    }

    public float[] floats(String name) throws IOException {
        ByteBuffer b = file.readAsFloat32(name);
        float[] out = new float[b.remaining() / 4];
        b.asFloatBuffer().get(out);
        return out;
    }

    public float scalar(String name) throws IOException {
        return floats(name)[0];
    }

    /** An int64 matrix [rows][cols]. */
    public long[][] longs(String name) throws IOException {
        long[] shape = file.info(name).shape();
        ByteBuffer b = file.readRaw(name);
        long[][] out = new long[(int) shape[0]][(int) shape[1]];
        for (long[] row : out) {
            for (int j = 0; j < row.length; j++) {
                row[j] = b.getLong();
            }
        }
        return out;
    }

    /** An int64 matrix as ints (masks). */
    public int[][] ints(String name) throws IOException {
        long[][] l = longs(name);
        int[][] out = new int[l.length][l[0].length];
        for (int i = 0; i < l.length; i++) {
            for (int j = 0; j < l[i].length; j++) {
                out[i][j] = (int) l[i][j];
            }
        }
        return out;
    }

    /** transformers uses arange(T) per row when no position ids are given, padding included. */
    public static long[][] positions(long[][] ids) {
        long[][] p = new long[ids.length][ids[0].length];
        for (long[] row : p) {
            for (int j = 0; j < row.length; j++) {
                row[j] = j;
            }
        }
        return p;
    }

    public boolean has(String name) {
        return file.tensors().containsKey(name);
    }

    public java.util.Set<String> names() {
        return file.tensors().keySet();
    }

    @Override
    public void close() throws IOException {
        file.close();
    }
}
