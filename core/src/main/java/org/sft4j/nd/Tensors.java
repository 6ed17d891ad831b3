package org.sft4j.nd;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;

/** Small helpers over DJL arrays that several packages need. */
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

    /** Keeps {@code a} alive after the enclosing {@link NDScope} closes, owned by {@code manager}. */
    public static NDArray keep(NDArray a, NDManager manager) {
        a.attach(manager);
        NDScope.unregister(a);
        return a;
    }
}
