package org.sft4j.nd;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.ndarray.types.SparseFormat;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;
import ai.djl.pytorch.jni.JniUtils;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * A tensor's elements in order, moved to and from host buffers a chunk at a time, so that a tensor of any size
 * passes through a bounded host buffer (DJL creates and reads arrays through one Java buffer of the whole tensor,
 * at most 2 GiB). Conversions between fp32, fp16 and bf16 happen on the tensor's device, after the transfer.
 *
 * <p>bf16 tensors are seen through an fp16-typed array over the same memory, so every DJL call here handles fp32
 * or fp16 (DJL aborts the JVM on bf16).
 */
public final class FlatTensor implements AutoCloseable {

    private final NDArray bits;
    private final DataType dtype;

    private FlatTensor(NDArray bits, DataType dtype) {
        this.bits = bits;
        this.dtype = dtype;
    }

    /**
     * The elements of {@code a} (fp32, fp16 or bf16). Chunks written with {@link #upload} land in {@code a} when
     * it is contiguous, as arrays from {@link DataTypes#empty} are; reading works on any array.
     */
    public static FlatTensor of(NDArray a) {
        DataType t = DataTypes.of(a);
        NDArray held = t == DataType.BFLOAT16 ? NativeOps.retype(a, NativeOps.FLOAT16) : a;
        NDArray flat = held.reshape(new Shape(-1));   // a view of contiguous memory
        if (held != a) {
            held.close();
        }
        Tensors.keep(flat, a.getManager());
        return new FlatTensor(flat, t);
    }

    public long size() {
        return bits.size();
    }

    public DataType dataType() {
        return dtype;
    }

    public Device device() {
        return bits.getDevice();
    }

    /**
     * Elements {@code [offset, offset + count)} of a CPU tensor as a little-endian buffer over their memory (at most
     * 2 GiB), to read a file straight into or write it from without another copy. Valid while the tensor lives.
     */
    public ByteBuffer window(long offset, long count) {
        if (device().isGpu()) {
            throw new IllegalStateException("a window into memory exists for CPU tensors only, not on " + device());
        }
        try (PtNDArray view = JniUtils.slice((PtNDArray) bits, 0, offset, offset + count, 1)) {
            return JniUtils.getByteBuffer(view, true).order(ByteOrder.LITTLE_ENDIAN);
        }
    }

    /**
     * Copies the elements in {@code chunk} (its remaining bytes, {@code chunkType}'s little-endian bits) to elements
     * {@code [offset, ...)}: straight into place when the types agree, otherwise to the device in {@code chunkType}
     * and converted there. {@code chunk} can be reused when this returns.
     */
    public void upload(long offset, ByteBuffer chunk, DataType chunkType) {
        long count = chunk.remaining() / DataTypes.bytes(chunkType);
        try (NDManager host = bits.getManager().newSubManager(Device.cpu());
             NDManager device = bits.getManager().newSubManager()) {
            NDArray value = JniUtils.createNdFromByteBuffer((PtNDManager) host, chunk.slice(), new Shape(count),
                    DataTypes.bitsType(chunkType), SparseFormat.DENSE, Device.cpu());
            if (chunkType != dtype) {
                value.attach(device);
                value = bitsOf(converted(value.toDevice(device(), false), chunkType, dtype), dtype);
            }
            JniUtils.indexSet((PtNDArray) bits, (PtNDArray) value, new long[] {offset}, new long[] {offset + count},
                    new long[] {1});
        }
    }

    /** Receives one chunk of host bytes; the buffer is valid during the call only. */
    @FunctionalInterface
    public interface ChunkSink {
        void accept(ByteBuffer chunk) throws IOException;
    }

    /**
     * Hands elements {@code [offset, offset + count)} to {@code sink} as {@code as}'s little-endian bits, converted on
     * the device before the transfer. On CPU in the tensor's own type the buffer is the tensor's memory (no copy).
     */
    public void download(long offset, long count, DataType as, ChunkSink sink) throws IOException {
        try (NDManager device = bits.getManager().newSubManager()) {
            NDArray view = JniUtils.slice((PtNDArray) bits, 0, offset, offset + count, 1);
            view.attach(device);
            NDArray out = as == dtype ? view : bitsOf(converted(view, dtype, as), as);
            NDArray host = out.toDevice(Device.cpu(), false);   // on a GPU owned by a sub-manager of `device`
            sink.accept(JniUtils.getByteBuffer((PtNDArray) host, true).order(ByteOrder.LITTLE_ENDIAN));
        }
    }

    /** {@code x} holding {@code from}'s bits, converted to {@code to} (a real bf16 array when {@code to} is bf16). */
    private static NDArray converted(NDArray x, DataType from, DataType to) {
        NDArray typed = from == DataType.BFLOAT16 ? NativeOps.retype(x, NativeOps.BFLOAT16) : x;
        return DataTypes.cast(typed, to);
    }

    /** An fp16-typed view of a bf16 array, or the array itself for fp32 and fp16. */
    private static NDArray bitsOf(NDArray x, DataType type) {
        return type == DataType.BFLOAT16 ? NativeOps.retype(x, NativeOps.FLOAT16) : x;
    }

    @Override
    public void close() {
        bits.close();
    }
}
