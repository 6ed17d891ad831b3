package org.sft4j.model.io;

import ai.djl.ndarray.NDArray;
import org.sft4j.nd.DataTypes;
import org.sft4j.nd.FlatTensor;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.WritableByteChannel;

/**
 * An array as the bytes of a tensor to write, in the stored type asked for (fp32, fp16 or bf16), handed to the
 * writer a chunk at a time: converted on the array's device before the transfer, or on the host where the
 * installation cannot hold the stored type (bf16 without the native extension). On CPU an array written in its
 * own type is written straight from its memory. Peak host memory: a chunk or two ({@link Elements#CHUNK_BYTES}),
 * never the tensor.
 */
public final class TensorSource {

    private static final ThreadLocal<ByteBuffer> CONVERTED =
            ThreadLocal.withInitial(() -> ByteBuffer.allocateDirect(Elements.CHUNK_BYTES).order(ByteOrder.LITTLE_ENDIAN));

    private TensorSource() {}

    /** {@code array} as the named tensor {@code name} stored as {@code type}; nothing is read before the writer asks. */
    public static NamedTensor of(String name, NDArray array, StDType type) {
        return new NamedTensor(name, type, array.getShape().getShape(), (NamedTensor.Bytes) out -> write(array, type, out));
    }

    private static void write(NDArray array, StDType type, WritableByteChannel out) throws java.io.IOException {
        try (FlatTensor flat = FlatTensor.of(array)) {
            StDType fetched = TensorReader.holdable(type) ? type : StDType.F32;
            int widest = Math.max(DataTypes.bytes(flat.dataType()), Math.max(fetched.bytes(), type.bytes()));
            long perChunk = Elements.CHUNK_BYTES / widest;
            for (long at = 0; at < flat.size(); at += perChunk) {
                long n = Math.min(perChunk, flat.size() - at);
                flat.download(at, n, TensorReader.dataType(fetched), chunk -> {
                    ByteBuffer bytes = chunk;
                    if (fetched != type) {
                        bytes = CONVERTED.get().clear();
                        Elements.convert(chunk, fetched, bytes, type);
                        bytes.flip();
                    }
                    while (bytes.hasRemaining()) {
                        out.write(bytes);
                    }
                });
            }
        }
    }
}
