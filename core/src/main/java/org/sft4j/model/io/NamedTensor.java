package org.sft4j.model.io;

import java.nio.ByteBuffer;
import java.util.function.Supplier;

/**
 * A tensor to be written: its name, stored type, shape and a supplier of its little-endian bytes.
 *
 * <p>The bytes are asked for only when the writer reaches the tensor, so a large model is written
 * one tensor at a time rather than converted up front.
 */
public record NamedTensor(String name, StDType dtype, long[] shape, Supplier<ByteBuffer> bytes) {

    public long byteLength() {
        long n = dtype.bytes();
        for (long d : shape) {
            n *= d;
        }
        return n;
    }
}
