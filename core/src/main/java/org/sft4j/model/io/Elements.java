package org.sft4j.model.io;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Converts chunks of stored floating point elements between F64, F32, F16 and BF16, bit for bit as torch's
 * {@code Tensor.to} does (widening is exact, narrowing rounds to nearest even, through fp32 as torch does).
 *
 * <p>Hand-written because Java 17 has no half-precision conversions; the hot case (bf16 to fp32) runs over
 * arrays in a loop the JIT vectorises.
 */
public final class Elements {

    /** The stored bytes one conversion step handles; a loader holds a few such buffers per thread, never a tensor. */
    public static final int CHUNK_BYTES = 16 << 20;

    private static final ThreadLocal<short[]> HALVES = ThreadLocal.withInitial(() -> new short[CHUNK_BYTES / 4]);
    private static final ThreadLocal<int[]> WORDS = ThreadLocal.withInitial(() -> new int[CHUNK_BYTES / 4]);

    private Elements() {}

    /**
     * Converts every element remaining in {@code src} (stored as {@code from}) into {@code dst} as {@code to},
     * advancing both buffers; both are read and written little-endian whatever their order.
     */
    public static void convert(ByteBuffer src, StDType from, ByteBuffer dst, StDType to) {
        ByteBuffer in = src.slice().order(ByteOrder.LITTLE_ENDIAN);
        ByteBuffer out = dst.slice().order(ByteOrder.LITTLE_ENDIAN);
        int n = in.remaining() / from.bytes();
        if (out.remaining() < (long) n * to.bytes()) {
            throw new IllegalArgumentException(n + " elements of " + to + " do not fit in " + out.remaining() + " bytes");
        }
        if (from == to) {
            out.put(in);
        } else if (from == StDType.BF16 && to == StDType.F32) {
            bf16ToF32(in, out, n);
        } else if (from == StDType.F32 && to == StDType.BF16) {
            f32ToBf16(in, out, n);
        } else {
            for (int i = 0; i < n; i++) {
                put(out, to, get(in, from));
            }
        }
        src.position(src.position() + n * from.bytes());
        dst.position(dst.position() + n * to.bytes());
    }

    private static void bf16ToF32(ByteBuffer in, ByteBuffer out, int n) {
        short[] halves = HALVES.get();
        int[] words = WORDS.get();
        for (int done = 0; done < n; ) {
            int k = Math.min(n - done, halves.length);
            in.asShortBuffer().get(halves, 0, k);
            for (int i = 0; i < k; i++) {
                words[i] = (halves[i] & 0xffff) << 16;   // bf16 is the top half of an fp32
            }
            out.asIntBuffer().put(words, 0, k);
            in.position(in.position() + 2 * k);
            out.position(out.position() + 4 * k);
            done += k;
        }
    }

    private static void f32ToBf16(ByteBuffer in, ByteBuffer out, int n) {
        short[] halves = HALVES.get();
        int[] words = WORDS.get();
        for (int done = 0; done < n; ) {
            int k = Math.min(n - done, halves.length);
            in.asIntBuffer().get(words, 0, k);
            for (int i = 0; i < k; i++) {
                halves[i] = HalfFloats.floatToBf16(Float.intBitsToFloat(words[i]));
            }
            out.asShortBuffer().put(halves, 0, k);
            in.position(in.position() + 4 * k);
            out.position(out.position() + 2 * k);
            done += k;
        }
    }

    /** One element as a double (exact for every stored float type). */
    private static double get(ByteBuffer in, StDType type) {
        return switch (type) {
            case F64 -> in.getDouble();
            case F32 -> in.getFloat();
            case F16 -> HalfFloats.f16ToFloat(in.getShort());
            case BF16 -> HalfFloats.bf16ToFloat(in.getShort());
            default -> throw new IllegalArgumentException(type + " is not a floating point type");
        };
    }

    /** Writes one element; narrowing goes through fp32 first, as torch's conversions do. */
    private static void put(ByteBuffer out, StDType type, double v) {
        switch (type) {
            case F64 -> out.putDouble(v);
            case F32 -> out.putFloat((float) v);
            case F16 -> out.putShort(HalfFloats.floatToF16((float) v));
            case BF16 -> out.putShort(HalfFloats.floatToBf16((float) v));
            default -> throw new IllegalArgumentException("cannot convert to " + type);
        }
    }
}
