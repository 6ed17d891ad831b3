package org.sft4j.model.io;

import java.util.Arrays;

/**
 * One tensor's entry in a safetensors header.
 *
 * @param name the tensor name, as in Hugging Face checkpoints
 * @param dtype the stored element type
 * @param shape the shape
 * @param begin first byte of the data, relative to the start of the data section
 * @param end one past the last byte
 */
public record TensorInfo(String name, StDType dtype, long[] shape, long begin, long end) {

    public long numel() {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        return n;
    }

    public long byteLength() {
        return end - begin;
    }

    @Override
    public String toString() {
        return name + " " + dtype + Arrays.toString(shape);
    }
}
