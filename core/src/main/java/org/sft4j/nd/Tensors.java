package org.sft4j.nd;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import ai.djl.ndarray.types.SparseFormat;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;
import ai.djl.pytorch.jni.JniUtils;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * Small helpers over DJL arrays that several packages need. The engine's own classes (JniUtils, PtNDArray) are
 * used here and in the rest of {@code nd} only: other packages see DJL's engine-neutral API.
 */
public final class Tensors {

    private Tensors() {}

    /** Creates an int64 [rows, cols] array from a row-major long matrix. */
    public static NDArray longs(NDManager manager, long[][] rows) {
        int r = rows.length;
        int c = r == 0 ? 0 : rows[0].length;
        long[] flat = new long[r * c];
        for (int i = 0; i < r; i++) {
            System.arraycopy(rows[i], 0, flat, i * c, c);
        }
        return manager.create(flat, new Shape(r, c));
    }

    /** The array as float values (copied to the host in fp32). */
    public static float[] toFloats(NDArray a) {
        if (a.getDataType() == DataType.FLOAT32) {
            return a.toFloatArray();
        }
        // bf16 arrays read as UNKNOWN in DJL: the extension converts them
        try (NDArray f = a.getDataType() == DataType.UNKNOWN ? NativeOps.cast(a, NativeOps.FLOAT32)
                : a.toType(DataType.FLOAT32, true)) {
            return f.toFloatArray();
        }
    }

    /** Reads a scalar as a double (a host sync). */
    public static double scalar(NDArray a) {
        if (a.getDataType() == DataType.UNKNOWN) {
            return toFloats(a)[0];
        }
        try (NDArray f = a.toType(DataType.FLOAT64, true)) {
            return f.getDouble();
        }
    }

    /** log_softmax computed in fp32 whatever the input dtype (keeps autograd: a promotion, not a cast). */
    public static NDArray logSoftmaxFp32(NDArray x, int axis) {
        return JniUtils.logSoftmax((PtNDArray) x, axis, DataType.FLOAT32);
    }

    /** softmax computed in fp32 whatever the input dtype. */
    public static NDArray softmaxFp32(NDArray x, int axis) {
        return JniUtils.softmax((PtNDArray) x, axis, DataType.FLOAT32);
    }

    /** Zeroes the gradient buffer of a parameter in place, if it has one. */
    public static void zeroGrad(NDArray param) {
        JniUtils.zeroGrad((PtNDArray) param);
    }

    /** The gradient of {@code param} or null when none was accumulated yet. The handle belongs to the caller. */
    public static NDArray gradOrNull(NDArray param) {
        return JniUtils.getGradient((PtNDArray) param);
    }

    /** Runs backward from {@code out} with the given output gradient. */
    public static void backward(NDArray out, NDArray gradOut, boolean keepGraph) {
        JniUtils.backward((PtNDArray) out, (PtNDArray) gradOut, keepGraph, false);
    }

    /** Turns autograd recording on or off for the calling thread; returns the previous state. */
    public static boolean gradMode(boolean enabled) {
        boolean was = JniUtils.isGradMode();
        JniUtils.setGradMode(enabled);
        return was;
    }

    /** The gradients of those of {@code params} that have one; the handles belong to the caller (close or scope them). */
    public static List<NDArray> gradients(List<NDArray> params) {
        List<NDArray> grads = new ArrayList<>();
        for (NDArray p : params) {
            NDArray g = gradOrNull(p);
            if (g != null) {
                grads.add(g);
            }
        }
        return grads;
    }

    /** Rows of {@code table} (V, C) for int64 {@code ids} of any shape -> (..., C), attached to the ids' manager. */
    public static NDArray embedding(NDArray ids, NDArray table) {
        return JniUtils.embedding((PtNDArray) ids, (PtNDArray) table, false);
    }

    /** Rows {@code index} (int64, N) of a 2-d array (R, C) -> (N, C), differentiable, in {@code x}'s manager. */
    public static NDArray rows(NDArray x, NDArray index) {
        return JniUtils.indexAdv((PtNDArray) x, new NDIndex("{}", index), (PtNDManager) x.getManager());
    }

    /** An fp32 array of {@code shape} whose memory is not initialised (to be filled through {@link #hostMemory}). */
    public static NDArray uninitializedFloat32(NDManager manager, Shape shape) {
        return JniUtils.createEmptyNdArray((PtNDManager) manager, shape, DataType.FLOAT32, manager.getDevice(),
                SparseFormat.DENSE);
    }

    /** A CPU array's own memory, to write into in place. */
    public static ByteBuffer hostMemory(NDArray cpuArray) {
        return JniUtils.getByteBuffer((PtNDArray) cpuArray, true);
    }

    /**
     * Copies {@code src}'s values into {@code dst} in place, converting the type (bf16 included), without autograd.
     * DJL's {@code set(Buffer)} is avoided: libtorch prints a deprecation warning for it.
     */
    public static void copyInto(NDArray dst, NDArray src) {
        if (NativeOps.available()) {
            NativeOps.copyInto(dst, src);
            return;
        }
        boolean was = gradMode(false);
        try (NDArray converted = src.toType(dst.getDataType(), true)) {
            dst.set(new NDIndex("..."), converted);
        } finally {
            gradMode(was);
        }
    }

    /** Keeps {@code a} alive after the enclosing {@link NDScope} closes, owned by {@code manager}. */
    public static NDArray keep(NDArray a, NDManager manager) {
        a.attach(manager);
        NDScope.unregister(a);
        return a;
    }
}
