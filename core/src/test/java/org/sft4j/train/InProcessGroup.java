package org.sft4j.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import org.sft4j.nd.FlatBuffers;
import org.sft4j.nd.ProcessGroup;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BrokenBarrierException;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Ranks as threads of one JVM, collectives as plain copies through host arrays: the process group of the sharding
 * tests where the native extension (and so Gloo) is absent, as in CI. Each rank reads the others' deposits, never
 * their arrays, and writes only its own. Collectives complete when they are issued.
 */
final class InProcessGroup {

    private final int world;
    private final CyclicBarrier barrier;
    private final Object[][] slots;

    private InProcessGroup(int world) {
        this.world = world;
        this.barrier = new CyclicBarrier(world);
        this.slots = new Object[world][];
    }

    /** One process group handle per rank, for {@code world} threads. */
    static List<ProcessGroup> ranks(int world) {
        InProcessGroup shared = new InProcessGroup(world);
        List<ProcessGroup> out = new ArrayList<>();
        for (int r = 0; r < world; r++) {
            out.add(shared.new Rank(r));
        }
        return out;
    }

    private void await() {
        try {
            barrier.await(60, TimeUnit.SECONDS);
        } catch (InterruptedException | BrokenBarrierException | TimeoutException e) {
            throw new IllegalStateException("a rank did not reach the collective (" + e + ")", e);
        }
    }

    private static double[] host(NDArray a) {
        DataType t = a.getDataType();
        if (t == DataType.FLOAT64) {
            return a.toDoubleArray();
        }
        if (t == DataType.INT64) {
            long[] l = a.toLongArray();
            double[] d = new double[l.length];
            for (int i = 0; i < l.length; i++) {
                d[i] = l[i];
            }
            return d;
        }
        float[] f;
        if (t == DataType.FLOAT32) {
            f = a.toFloatArray();
        } else {
            try (NDArray copy = a.toType(DataType.FLOAT32, true)) {
                f = copy.toFloatArray();
            }
        }
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) {
            d[i] = f[i];
        }
        return d;
    }

    /** Writes {@code values} into {@code dst} (flat order), in {@code dst}'s type. */
    private static void write(NDArray dst, double[] values) {
        NDArray src;
        DataType t = dst.getDataType();
        if (t == DataType.FLOAT64) {
            src = dst.getManager().create(values, dst.getShape());
        } else if (t == DataType.INT64) {
            long[] l = new long[values.length];
            for (int i = 0; i < l.length; i++) {
                l[i] = (long) values[i];
            }
            src = dst.getManager().create(l, dst.getShape());
        } else {
            float[] f = new float[values.length];
            for (int i = 0; i < f.length; i++) {
                f[i] = (float) values[i];
            }
            src = dst.getManager().create(f, dst.getShape());
        }
        try (src) {
            FlatBuffers.overwrite(dst, src);   // as a collective writes: a saved graph's version stays
        }
    }

    private final class Rank implements ProcessGroup {
        private final int rank;

        Rank(int rank) {
            this.rank = rank;
        }

        @Override
        public int rank() {
            return rank;
        }

        @Override
        public int world() {
            return world;
        }

        private double[][] deposit(List<NDArray> tensors) {
            double[][] mine = new double[tensors.size()][];
            for (int k = 0; k < mine.length; k++) {
                mine[k] = host(tensors.get(k));
            }
            slots[rank] = mine;
            await();
            return mine;
        }

        private double[] of(int r, int k) {
            return (double[]) slots[r][k];
        }

        @Override
        public void allReduceSum(List<NDArray> tensors) {
            deposit(tensors);
            for (int k = 0; k < tensors.size(); k++) {
                double[] sum = new double[of(0, k).length];
                for (int r = 0; r < world; r++) {
                    double[] x = of(r, k);
                    for (int i = 0; i < sum.length; i++) {
                        sum[i] += x[i];
                    }
                }
                write(tensors.get(k), sum);
            }
            await();
        }

        @Override
        public void broadcast(List<NDArray> tensors, int root) {
            deposit(tensors);
            if (rank != root) {
                for (int k = 0; k < tensors.size(); k++) {
                    write(tensors.get(k), of(root, k));
                }
            }
            await();
        }

        @Override
        public Pending allGather(List<NDArray> outs, List<NDArray> ins) {
            deposit(ins);
            for (int k = 0; k < outs.size(); k++) {
                int n = of(0, k).length;
                double[] all = new double[n * world];
                for (int r = 0; r < world; r++) {
                    System.arraycopy(of(r, k), 0, all, r * n, n);
                }
                write(outs.get(k), all);
            }
            await();
            return DONE;
        }

        @Override
        public Pending reduceScatter(List<NDArray> outs, List<NDArray> ins) {
            deposit(ins);
            for (int k = 0; k < outs.size(); k++) {
                int n = of(0, k).length / world;
                double[] sum = new double[n];
                for (int r = 0; r < world; r++) {
                    double[] x = of(r, k);
                    for (int i = 0; i < n; i++) {
                        sum[i] += x[rank * n + i];
                    }
                }
                write(outs.get(k), sum);
            }
            await();
            return DONE;
        }

        @Override
        public void barrier() {
            await();
        }

        @Override
        public void close() {
        }
    }
}
