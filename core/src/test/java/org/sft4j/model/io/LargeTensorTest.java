package org.sft4j.model.io;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sft4j.nd.Engines;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.zip.CRC32C;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * A tensor over 2^31 bytes, as Qwen2.5-7B's fp32 embedding is (152064 x 3584 x 4 bytes), through the loader and the
 * writer on CPU: its values are checked at sampled positions (both sides of the 2 GiB boundary) and all of its bytes
 * by checksums of what was written back. Peak memory: one such tensor (2 GiB) at a time.
 */
class LargeTensorTest {

    private static final long ROWS = 16_385;
    private static final long COLS = 32_768;
    /** 536,903,680 elements: 2,147,614,720 bytes as fp32 (just over 2^31), 1,073,807,360 as bf16. */
    private static final long N = ROWS * COLS;
    private static final long[] SHAPE = {ROWS, COLS};

    /** The bf16 bits of element i: both signs, every exponent but inf/NaN's, subnormals included. */
    static short bits(long i) {
        int b = (int) ((i * 0x9E3779B97F4A7C15L) >>> 48);
        if ((b & 0x7f80) == 0x7f80) {
            b &= ~0x4000;   // keep it finite
        }
        return (short) b;
    }

    /** The value every test expects at element i, as fp32 bits (bf16 values are exact in fp32). */
    static int fp32Bits(long i) {
        return (bits(i) & 0xffff) << 16;
    }

    /** Generates the tensor's bytes as {@code type} (F32 or BF16), a chunk at a time: no copy of it in memory. */
    static NamedTensor.Bytes generated(StDType type) {
        return out -> {
            ByteBuffer chunk = ByteBuffer.allocateDirect(8 << 20).order(ByteOrder.LITTLE_ENDIAN);
            for (long i = 0; i < N; ) {
                chunk.clear();
                while (chunk.remaining() >= type.bytes() && i < N) {
                    if (type == StDType.F32) {
                        chunk.putInt(fp32Bits(i++));
                    } else {
                        chunk.putShort(bits(i++));
                    }
                }
                chunk.flip();
                while (chunk.hasRemaining()) {
                    out.write(chunk);
                }
            }
        };
    }

    /** Positions to check: the ends, both sides of element 2^29 (byte 2^31 of fp32), and random ones. */
    static List<Long> samples() {
        List<Long> at = new ArrayList<>(List.of(0L, 1L, N - 1, N - 2, (1L << 29) - 1, 1L << 29, (1L << 29) + 1));
        SplittableRandom rnd = new SplittableRandom(17);
        for (int k = 0; k < 300; k++) {
            at.add(rnd.nextLong(N));
        }
        return at;
    }

    static void assertSampledValues(NDArray a) {
        assertArrayEquals(SHAPE, a.getShape().getShape());
        for (long i : samples()) {
            try (NDArray v = a.get(i / COLS, i % COLS)) {
                assertEquals(fp32Bits(i), Float.floatToRawIntBits(v.getFloat()), "element " + i);
            }
        }
    }

    @Test
    void aTensorOverTwoGibibytesLoadsAndSavesExactly(@TempDir Path tmp) throws IOException {
        Path bf16 = tmp.resolve("big-bf16.safetensors");
        Path f32 = tmp.resolve("big-f32.safetensors");
        Path back = tmp.resolve("back-bf16.safetensors");
        SafetensorsWriter.writeFile(bf16, List.of(new NamedTensor("big", StDType.BF16, SHAPE, generated(StDType.BF16))),
                Map.of());
        try (NDManager m = Engines.newManager(Device.cpu())) {
            // bf16 on disk widened into an fp32 tensor over 2 GiB, as a 7B embedding is loaded for fp32 master weights
            try (SafetensorsFile file = SafetensorsFile.open(bf16);
                 NDArray a = TensorReader.read(file, "big", m, DataType.FLOAT32)) {
                assertEquals(DataType.FLOAT32, a.getDataType());
                assertSampledValues(a);
                SafetensorsWriter.writeFile(f32, List.of(TensorSource.of("big", a, StDType.F32)), Map.of());
            }
            // the fp32 file (data beyond byte 2^31) read back in its own type, then narrowed to bf16 on the way out
            try (SafetensorsFile file = SafetensorsFile.open(f32);
                 NDArray a = TensorReader.read(file, "big", m, DataType.FLOAT32)) {
                assertEquals(2_147_614_720L, file.info("big").byteLength());
                assertSampledValues(a);
                SafetensorsWriter.writeFile(back, List.of(TensorSource.of("big", a, StDType.BF16)), Map.of());
            }
        }
        // every element survived both round trips (bf16 values are exact in fp32, so nothing may change)
        assertEquals(crc(generated(StDType.BF16)), crcOfData(back, "big"), "bf16 bytes after bf16 -> fp32 -> file -> bf16");
    }

    private static long crcOfData(Path file, String name) throws IOException {
        CRC32C crc = new CRC32C();
        ByteBuffer buf = ByteBuffer.allocateDirect(8 << 20);
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            long len = f.info(name).byteLength();
            for (long at = 0; at < len; at += buf.capacity()) {
                buf.clear().limit((int) Math.min(buf.capacity(), len - at));
                f.read(name, at, buf);
                crc.update(buf.flip());
            }
        }
        return crc.getValue();
    }

    private static long crc(NamedTensor.Bytes bytes) throws IOException {
        CRC32C crc = new CRC32C();
        bytes.writeTo(new WritableByteChannel() {
            @Override
            public int write(ByteBuffer src) {
                int n = src.remaining();
                crc.update(src);
                return n;
            }

            @Override
            public boolean isOpen() {
                return true;
            }

            @Override
            public void close() {
            }
        });
        return crc.getValue();
    }
}
