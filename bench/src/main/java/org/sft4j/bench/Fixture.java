package org.sft4j.bench;

import org.sft4j.model.io.SafetensorsFile;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;

/** The tensors of a fixture's {@code expected.safetensors} (inputs and transformers' outputs). */
final class Fixture implements AutoCloseable {

    private final SafetensorsFile file;

    Fixture(Path path) throws IOException {
        this.file = SafetensorsFile.open(path);
    }

    float[] floats(String name) throws IOException {
        ByteBuffer b = file.readAsFloat32(name);
        float[] out = new float[b.remaining() / 4];
        b.asFloatBuffer().get(out);
        return out;
    }

    long[][] longs(String name) throws IOException {
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

    int[][] ints(String name) throws IOException {
        long[][] l = longs(name);
        int[][] out = new int[l.length][l[0].length];
        for (int i = 0; i < l.length; i++) {
            for (int j = 0; j < l[i].length; j++) {
                out[i][j] = (int) l[i][j];
            }
        }
        return out;
    }

    java.util.Set<String> names() {
        return file.tensors().keySet();
    }

    /** arange(T) per row, as transformers uses when no position ids are given. */
    static long[][] positions(long[][] ids) {
        long[][] p = new long[ids.length][ids[0].length];
        for (long[] row : p) {
            for (int j = 0; j < row.length; j++) {
                row[j] = j;
            }
        }
        return p;
    }

    /** ||a - b|| / ||b||. */
    static double relError(float[] a, float[] b) {
        if (a.length != b.length) {
            throw new IllegalArgumentException("lengths differ: " + a.length + " vs " + b.length);
        }
        double num = 0;
        double den = 0;
        for (int i = 0; i < a.length; i++) {
            double d = (double) a[i] - b[i];
            num += d * d;
            den += (double) b[i] * b[i];
        }
        return Math.sqrt(num / den);
    }

    @Override
    public void close() throws IOException {
        file.close();
    }
}
