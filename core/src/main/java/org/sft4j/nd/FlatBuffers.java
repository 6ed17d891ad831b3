package org.sft4j.nd;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;
import ai.djl.pytorch.jni.JniUtils;

import java.util.List;

/**
 * Flat buffers of a sharded model: several parameters' values or gradients laid one after another in one 1-d
 * tensor, which the collectives move whole. With the distributed library the buffers' memory can be given back and
 * allocated again in place (the parameters stay views of them) and gradients are moved without DJL's copies; on the
 * portable path the same operations are DJL's, and a buffer's memory stays allocated.
 */
public final class FlatBuffers {

    private FlatBuffers() {}

    private static native void flattenGradients(long[] params, long out, boolean clear);

    private static native void clearGradients(long[] params);

    private static native void accumulateGradient(long param, long gradient);

    private static native void overwrite(long dst, long src);

    private static native void release(long tensor);

    private static native void reserve(long tensor);

    private static native long storageBytes(long tensor);

    private static native long hostCopy(long src);

    private static native void gradientToHost(long param, long gradient, boolean overwrite);

    private static native void upload(long dst, long src);

    private static native void awaitDevice(long tensor);

    private static native long squaredNorm(long tensor);

    private static native int numHostThreads();

    private static boolean nativeBuffers() {
        return NativeOps.available() && Distributed.available();
    }

    /** Zeros of {@code dtype} (fp32, fp16 or bf16), {@code n} elements, on {@code manager}'s device. */
    public static NDArray zeros(NDManager manager, long n, DataType dtype) {
        if (dtype == DataType.BFLOAT16) {
            NDArray a = DataTypes.empty(manager, new Shape(n), dtype);
            NativeOps.zeroAll(List.of(a));
            return a;
        }
        return manager.zeros(new Shape(n), dtype);
    }

    /**
     * A view of elements {@code [offset, offset + shape.size())} of the flat {@code buffer}, shaped {@code shape}:
     * writing either writes both.
     */
    public static NDArray view(NDArray buffer, long offset, Shape shape) {
        PtNDArray slice = JniUtils.slice((PtNDArray) buffer, 0, offset, offset + shape.size(), 1);
        NDArray v = slice.reshape(shape);
        if (v != slice) {
            slice.close();
        }
        return v;
    }

    /** Copies the flat {@code src} (its dtype converted) into elements {@code [offset, offset + src.size())} of {@code dst}. */
    public static void copyInto(NDArray dst, long offset, NDArray src) {
        boolean was = Tensors.gradMode(false);
        try (NDArray flat = src.reshape(new Shape(-1))) {
            JniUtils.indexSet((PtNDArray) dst, (PtNDArray) flat, new long[] {offset}, new long[] {offset + src.size()},
                    new long[] {1});
        } finally {
            Tensors.gradMode(was);
        }
    }

    /**
     * Copies elements {@code [srcOffset, srcOffset + count)} of {@code src} (any shape, read flat) into elements
     * {@code [dstOffset, ...)} of the flat {@code dst}, converting the dtype, without autograd.
     */
    public static void copySlice(NDArray dst, long dstOffset, NDArray src, long srcOffset, long count) {
        boolean was = Tensors.gradMode(false);
        try (NDArray flat = src.reshape(new Shape(-1));
             PtNDArray part = JniUtils.slice((PtNDArray) flat, 0, srcOffset, srcOffset + count, 1)) {
            JniUtils.indexSet((PtNDArray) dst, part, new long[] {dstOffset}, new long[] {dstOffset + count},
                    new long[] {1});
        } finally {
            Tensors.gradMode(was);
        }
    }

    /**
     * {@code out} (flat, at least the parameters' elements) receives the gradients of {@code params} one after
     * another, in {@code out}'s dtype: zeros for a parameter without one and after the last. With {@code clear} the
     * parameters' gradients are dropped (natively: their memory freed; portably: zeroed).
     */
    public static void flattenGradients(List<NDArray> params, NDArray out, boolean clear) {
        if (nativeBuffers()) {
            flattenGradients(NativeOps.handles(params), handle(out), clear);
            return;
        }
        boolean was = Tensors.gradMode(false);
        try {
            long offset = 0;
            for (NDArray p : params) {
                NDArray g = Tensors.gradOrNull(p);
                if (g == null) {
                    try (NDArray z = out.getManager().zeros(new Shape(p.size()), out.getDataType())) {
                        copyInto(out, offset, z);
                    }
                } else {
                    copyInto(out, offset, g);
                    g.close();
                    if (clear) {
                        Tensors.zeroGrad(p);
                    }
                }
                offset += p.size();
            }
            if (offset < out.size()) {
                try (NDArray z = out.getManager().zeros(new Shape(out.size() - offset), out.getDataType())) {
                    copyInto(out, offset, z);
                }
            }
        } finally {
            Tensors.gradMode(was);
        }
    }

    /** Multiplies the gradients of {@code params} (those that have one) by {@code factor} in place. */
    public static void scaleGradients(List<NDArray> params, double factor) {
        boolean was = Tensors.gradMode(false);
        try (NDScope scope = new NDScope()) {                                  // frees the gradient handles
            List<NDArray> grads = Tensors.gradients(params);
            if (grads.isEmpty()) {
                return;
            }
            if (NativeOps.available()) {
                NativeOps.mulAll(grads, factor);
            } else {
                grads.forEach(g -> g.muli(factor));                            // each handle is a view of p.grad
            }
        } finally {
            Tensors.gradMode(was);
        }
    }

    /** Drops the gradients of {@code params} (natively their memory is freed; portably they are zeroed). */
    public static void clearGradients(List<NDArray> params) {
        if (nativeBuffers()) {
            clearGradients(NativeOps.handles(params));
        } else {
            params.forEach(Tensors::zeroGrad);
        }
    }

    /**
     * {@code param.grad += gradient}; natively a parameter without a gradient takes {@code gradient}'s memory as its
     * own, so the caller must not write {@code gradient} afterwards (closing its handle is fine).
     */
    public static void accumulateGradient(NDArray param, NDArray gradient) {
        if (nativeBuffers()) {
            accumulateGradient(handle(param), handle(gradient));
            return;
        }
        // backward from a leaf adds the given gradient to its own
        Tensors.backward(param, gradient, false);
    }

    /**
     * Writes {@code src}'s values (any shape, same number of elements) into {@code dst} as a collective writes its
     * output: natively the autograd version of {@code dst} and its views stays, so a graph that saved them before
     * their memory was released and gathered again still holds (for a process group made of copies, in tests).
     */
    public static void overwrite(NDArray dst, NDArray src) {
        if (nativeBuffers()) {
            overwrite(handle(dst), handle(src));
        } else {
            Tensors.copyInto(dst, src.getShape().equals(dst.getShape()) ? src : src.reshape(dst.getShape()));
        }
    }

    /**
     * A copy of {@code src} on {@code manager}'s device, owned by it: between host and GPU, or on the same device.
     * DJL's own device copy cannot carry bf16 (its JNI has no bf16 type), so natively this is one {@code copy_}.
     */
    public static NDArray copyTo(NDArray src, NDManager manager) {
        boolean was = Tensors.gradMode(false);
        try {
            if (NativeOps.available()) {
                NDArray out = DataTypes.empty(manager, src.getShape(), DataTypes.of(src));
                NativeOps.copyInto(out, src);
                return out;
            }
            boolean here = src.getDevice().equals(manager.getDevice());
            return Tensors.keep(here ? src.duplicate() : src.toDevice(manager.getDevice(), false), manager);
        } finally {
            Tensors.gradMode(was);
        }
    }

    // ---- optimizer offload ----------------------------------------------------------------------------------------

    /** A copy of {@code src} in host memory, owned by {@code host}: natively page-locked where a GPU is present. */
    public static NDArray hostCopy(NDArray src, NDManager host) {
        if (nativeBuffers()) {
            return new PtNDArray((PtNDManager) host, hostCopy(handle(src)));
        }
        return copyTo(src, host);
    }

    /**
     * The host-memory gradient of {@code param} receives {@code gradient} (a device's sum): overwritten when
     * {@code overwrite} (natively asynchronously from a GPU: {@link #awaitDevice} before reading it), else added to.
     */
    public static void gradientToHost(NDArray param, NDArray gradient, boolean overwrite) {
        if (nativeBuffers()) {
            gradientToHost(handle(param), handle(gradient), overwrite);
            return;
        }
        if (overwrite) {
            try (NDArray old = Tensors.gradOrNull(param)) {
                if (old != null) {
                    Tensors.zeroGrad(param);
                }
            }
        }
        try (NDArray there = copyTo(gradient, param.getManager())) {
            accumulateGradient(param, there);
        }
    }

    /** {@code dst} (a device's working-type shard) takes the values of {@code src} (a host shard), cast. */
    public static void upload(NDArray dst, NDArray src) {
        if (nativeBuffers()) {
            upload(handle(dst), handle(src));
            return;
        }
        boolean was = Tensors.gradMode(false);
        NDArray cast = DataTypes.cast(src, DataTypes.of(dst));
        try (NDArray moved = copyTo(cast, dst.getManager())) {
            overwrite(dst, moved);
        } finally {
            if (cast != src) {
                cast.close();
            }
            Tensors.gradMode(was);
        }
    }

    /**
     * The squared 2-norm of {@code x} as an fp32 scalar on its device, owned by {@code x}'s manager (an offloaded
     * gradient's, taken while it is still on the GPU: the clipping norm then needs no pass over host memory).
     */
    public static NDArray squaredNorm(NDArray x) {
        if (nativeBuffers()) {
            return new PtNDArray((PtNDManager) x.getManager(), squaredNorm(handle(x)));
        }
        boolean was = Tensors.gradMode(false);
        NDArray fp32 = x.toType(DataType.FLOAT32, false);
        try (NDArray squares = fp32.square()) {
            return squares.sum();
        } finally {
            if (fp32 != x) {
                fp32.close();
            }
            Tensors.gradMode(was);
        }
    }

    /** Waits for the work queued on {@code x}'s GPU (the asynchronous copies above); nothing on a CPU or portably. */
    public static void awaitDevice(NDArray x) {
        if (nativeBuffers()) {
            awaitDevice(handle(x));
        }
    }

    /** The threads PyTorch's CPU operators use, or -1 where that is not known (the portable path). */
    public static int hostThreads() {
        return nativeBuffers() ? numHostThreads() : -1;
    }

    /** Whether {@link #release} gives memory back here (the distributed library is loaded). */
    public static boolean releasable() {
        return nativeBuffers();
    }

    /** Gives {@code buffer}'s memory back; its views keep their shapes and must not be read until {@link #reserve}. */
    public static void release(NDArray buffer) {
        if (nativeBuffers()) {
            release(handle(buffer));
        }
    }

    /** Allocates {@code buffer}'s memory again (uninitialised) after {@link #release}; nothing when it has it. */
    public static void reserve(NDArray buffer) {
        if (nativeBuffers()) {
            reserve(handle(buffer));
        }
    }

    /** Bytes of memory {@code a}'s storage holds now (0 once released); -1 where this cannot be asked. */
    public static long storageBytes(NDArray a) {
        return nativeBuffers() ? storageBytes(handle(a)) : -1;
    }

    private static long handle(NDArray a) {
        return ((PtNDArray) a).getHandle();
    }
}
