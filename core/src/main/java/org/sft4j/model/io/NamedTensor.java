package org.sft4j.model.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.WritableByteChannel;
import java.util.function.Supplier;

/**
 * A tensor to be written: its name, stored type, shape and the source of its little-endian bytes.
 *
 * <p>The bytes are asked for only when the writer reaches the tensor, and a source may hand them over in
 * chunks, so a model of any size is written one chunk at a time rather than converted up front.
 */
public record NamedTensor(String name, StDType dtype, long[] shape, Bytes bytes) {

    /** Writes a tensor's bytes, in order, to a channel, in as many writes as it likes. */
    @FunctionalInterface
    public interface Bytes {
        void writeTo(WritableByteChannel out) throws IOException;
    }

    /** A small tensor whose bytes come in one buffer (at most 2 GiB). */
    public NamedTensor(String name, StDType dtype, long[] shape, Supplier<ByteBuffer> whole) {
        this(name, dtype, shape, (Bytes) out -> {
            ByteBuffer b = whole.get().duplicate();
            while (b.hasRemaining()) {
                out.write(b);
            }
        });
    }

    public long byteLength() {
        long n = dtype.bytes();
        for (long d : shape) {
            n *= d;
        }
        return n;
    }
}
