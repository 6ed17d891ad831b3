package org.sft4j.nd;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.ndarray.types.SparseFormat;
import ai.djl.pytorch.engine.PtNDManager;
import ai.djl.pytorch.jni.JniUtils;

/**
 * The floating point types a model's weights can have (fp32, fp16, bf16), bf16 included although DJL's PyTorch
 * engine has no bf16: such arrays are made and converted by the native extension, and DJL reports them as UNKNOWN.
 * Passing {@code DataType.BFLOAT16} to DJL itself aborts the JVM, so every bf16 request goes through here.
 */
public final class DataTypes {

    private DataTypes() {}

    /** The type of {@code a}: DJL's, or BFLOAT16 for the bf16 arrays DJL reports as UNKNOWN. */
    public static DataType of(NDArray a) {
        DataType t = a.getDataType();
        if (t == DataType.UNKNOWN && NativeOps.available() && NativeOps.dtypeOf(a) == NativeOps.BFLOAT16) {
            return DataType.BFLOAT16;
        }
        return t;
    }

    /** Whether bf16 arrays can exist here (DJL cannot make them; the native extension can). */
    public static boolean canHoldBf16() {
        return NativeOps.available();
    }

    /** Fails with a message a user can act on unless {@code dtype} is a weight type this installation can hold. */
    public static void requireSupported(DataType dtype) {
        if (dtype == DataType.BFLOAT16 && !NativeOps.available()) {
            throw new IllegalStateException("bfloat16 weights need sft4j's native extension (native/build.sh, then "
                    + "SFT4J_NATIVE or SFT4J_ROOT), which is not loaded; load the model in float32 instead");
        }
        if (dtype != DataType.FLOAT32 && dtype != DataType.FLOAT16 && dtype != DataType.BFLOAT16) {
            throw new IllegalArgumentException("weights can be float32, float16 or bfloat16, not " + dtype);
        }
    }

    /** An uninitialised array of {@code dtype} (FLOAT32, FLOAT16 or BFLOAT16) on {@code manager}'s device. */
    public static NDArray empty(NDManager manager, Shape shape, DataType dtype) {
        requireSupported(dtype);
        DataType held = bitsType(dtype);
        NDArray a = JniUtils.createEmptyNdArray((PtNDManager) manager, shape, held, manager.getDevice(),
                SparseFormat.DENSE);
        if (dtype != DataType.BFLOAT16) {
            return a;
        }
        try (a) {
            return NativeOps.retype(a, NativeOps.BFLOAT16);   // shares a's memory, outlives its handle
        }
    }

    /** Zeros shaped and typed like {@code a} (bf16 included), without gradients, owned by {@code a}'s manager. */
    public static NDArray zerosLike(NDArray a) {
        return of(a) == DataType.BFLOAT16 ? NativeOps.zerosLike(a) : a.zerosLike();
    }

    /**
     * {@code a} converted to {@code dtype}, without autograd, on its device; a new array owned by {@code a}'s manager
     * (or {@code a} itself when it already has that type).
     */
    public static NDArray cast(NDArray a, DataType dtype) {
        requireSupported(dtype);
        DataType from = of(a);
        if (from == dtype) {
            return a;
        }
        if (from == DataType.BFLOAT16 || dtype == DataType.BFLOAT16) {
            boolean was = Tensors.gradMode(false);
            try {
                return NativeOps.cast(a, code(dtype));
            } finally {
                Tensors.gradMode(was);
            }
        }
        return a.toType(dtype, false);
    }

    /** The DJL type that holds {@code dtype}'s bits: fp16 for bf16 (same size), else the type itself. */
    public static DataType bitsType(DataType dtype) {
        return dtype == DataType.BFLOAT16 ? DataType.FLOAT16 : dtype;
    }

    /** Bytes per element of the weight types. */
    public static int bytes(DataType dtype) {
        return dtype == DataType.BFLOAT16 ? 2 : dtype.getNumOfBytes();
    }

    /** The extension's dtype code. */
    static int code(DataType dtype) {
        return switch (dtype) {
            case FLOAT32 -> NativeOps.FLOAT32;
            case FLOAT16 -> NativeOps.FLOAT16;
            case BFLOAT16 -> NativeOps.BFLOAT16;
            default -> throw new IllegalArgumentException("no native code for " + dtype);
        };
    }
}
