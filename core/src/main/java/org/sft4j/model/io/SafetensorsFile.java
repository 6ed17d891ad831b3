package org.sft4j.model.io;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Reads a {@code .safetensors} file: an 8-byte little-endian header length, a JSON header, then raw data.
 *
 * <p>Tensors are read with positional reads into a buffer the caller keeps, so files and shards over
 * 2 GiB work and the file's pages are not held in memory after loading (DJL's own decoder reads the
 * whole file into one Java array, which stops at 2 GiB and doubles the peak). Every offset is checked
 * against the file size before anything is read: a truncated file is an error, not garbage.
 */
public final class SafetensorsFile implements AutoCloseable {

    private static final ObjectMapper JSON = new ObjectMapper();
    /** Chunk used when converting bf16/fp16 to fp32: large enough to stream, small next to any model. */
    private static final int CHUNK = 8 << 20;

    private final Path path;
    private final FileChannel channel;
    private final long dataStart;
    private final Map<String, TensorInfo> tensors;
    private final Map<String, String> metadata;

    private SafetensorsFile(Path path, FileChannel channel, long dataStart,
                            Map<String, TensorInfo> tensors, Map<String, String> metadata) {
        this.path = path;
        this.channel = channel;
        this.dataStart = dataStart;
        this.tensors = tensors;
        this.metadata = metadata;
    }

    /** Opens and validates the header of {@code path}. */
    public static SafetensorsFile open(Path path) throws IOException {
        FileChannel ch = FileChannel.open(path, StandardOpenOption.READ);
        try {
            long size = ch.size();
            if (size < 8) {
                throw new IOException(path + ": not a safetensors file (" + size + " bytes, truncated?)");
            }
            ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            readFully(ch, len, 0, path);
            long headerLen = len.flip().getLong();
            if (headerLen <= 0 || headerLen > 100_000_000L || 8 + headerLen > size) {
                throw new IOException(path + ": header length " + headerLen + " does not fit in the file of "
                        + size + " bytes (truncated or not safetensors)");
            }
            ByteBuffer hb = ByteBuffer.allocate((int) headerLen);
            readFully(ch, hb, 8, path);
            JsonNode header;
            try {
                header = JSON.readTree(new String(hb.array(), StandardCharsets.UTF_8));
            } catch (IOException e) {
                throw new IOException(path + ": the JSON header does not parse: " + e.getMessage(), e);
            }
            long dataStart = 8 + headerLen;
            long dataLen = size - dataStart;
            Map<String, TensorInfo> tensors = new LinkedHashMap<>();
            Map<String, String> metadata = new LinkedHashMap<>();
            for (Iterator<Map.Entry<String, JsonNode>> it = header.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                if (e.getKey().equals("__metadata__")) {
                    e.getValue().fields().forEachRemaining(m -> metadata.put(m.getKey(), m.getValue().asText()));
                    continue;
                }
                tensors.put(e.getKey(), parseEntry(path, e.getKey(), e.getValue(), dataLen));
            }
            return new SafetensorsFile(path, ch, dataStart, Collections.unmodifiableMap(tensors), metadata);
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
    }

    private static TensorInfo parseEntry(Path path, String name, JsonNode v, long dataLen) throws IOException {
        String where = path + ": tensor '" + name + "'";
        StDType dtype = StDType.parse(v.path("dtype").asText(), where);
        JsonNode shapeNode = v.path("shape");
        long[] shape = new long[shapeNode.size()];
        for (int i = 0; i < shape.length; i++) {
            shape[i] = shapeNode.get(i).asLong();
        }
        JsonNode off = v.path("data_offsets");
        if (off.size() != 2) {
            throw new IOException(where + ": missing data_offsets");
        }
        TensorInfo info = new TensorInfo(name, dtype, shape, off.get(0).asLong(), off.get(1).asLong());
        if (info.begin() < 0 || info.end() < info.begin() || info.end() > dataLen) {
            throw new IOException(where + ": data [" + info.begin() + ", " + info.end() + ") lies outside the "
                    + dataLen + " data bytes of the file (truncated?)");
        }
        if (info.byteLength() != info.numel() * dtype.bytes()) {
            throw new IOException(where + ": " + info.byteLength() + " bytes for shape "
                    + java.util.Arrays.toString(shape) + " of " + dtype + " (expected "
                    + info.numel() * dtype.bytes() + ")");
        }
        return info;
    }

    public Path path() {
        return path;
    }

    /** Tensor entries in header order. */
    public Map<String, TensorInfo> tensors() {
        return tensors;
    }

    public Map<String, String> metadata() {
        return metadata;
    }

    public TensorInfo info(String name) {
        TensorInfo t = tensors.get(name);
        if (t == null) {
            throw new IllegalArgumentException(path + ": no tensor '" + name + "'");
        }
        return t;
    }

    /** The raw bytes of a tensor, as stored (little-endian), in a new direct buffer. */
    public ByteBuffer readRaw(String name) throws IOException {
        TensorInfo t = info(name);
        ByteBuffer out = ByteBuffer.allocateDirect(Math.toIntExact(t.byteLength())).order(ByteOrder.LITTLE_ENDIAN);
        readFully(channel, out, dataStart + t.begin(), path);
        return out.flip();
    }

    /**
     * A floating point tensor converted to fp32, in a new direct native-order buffer that the caller
     * hands to DJL without a further copy.
     */
    public ByteBuffer readAsFloat32(String name) throws IOException {
        TensorInfo t = info(name);
        long n = t.numel();
        if (n * 4 > Integer.MAX_VALUE) {
            throw new IOException(path + ": tensor '" + name + "' has " + n
                    + " elements; one fp32 tensor over 2 GiB is not supported");
        }
        ByteBuffer out = ByteBuffer.allocateDirect((int) (n * 4)).order(ByteOrder.nativeOrder());
        readAsFloat32Into(name, out);
        return out;
    }

    /**
     * Converts a floating point tensor to fp32 directly into {@code dst} (native order, exactly the
     * tensor's fp32 size), e.g. the memory of an uninitialised CPU tensor: one pass, no zeroing.
     * Safe to call from several threads at once (positional reads).
     */
    public void readAsFloat32Into(String name, ByteBuffer dst) throws IOException {
        TensorInfo t = info(name);
        if (dst.capacity() != t.numel() * 4) {
            throw new IllegalArgumentException(path + ": tensor '" + name + "' needs " + t.numel() * 4
                    + " bytes of fp32, the target has " + dst.capacity());
        }
        if (ByteOrder.nativeOrder() != ByteOrder.LITTLE_ENDIAN) {
            throw new IOException("big-endian hosts are not supported");
        }
        ByteBuffer out = dst.duplicate().order(ByteOrder.nativeOrder());
        out.clear();
        switch (t.dtype()) {
            case F32 -> readFully(channel, out, dataStart + t.begin(), path);
            case BF16, F16 -> convertHalf(t, out);
            case F64 -> {
                ByteBuffer raw = readRaw(name);
                while (raw.hasRemaining()) {
                    out.putFloat((float) raw.getDouble());
                }
            }
            default -> throw new IOException(path + ": tensor '" + name + "' is " + t.dtype()
                    + ", not a floating point type");
        }
    }

    /** Chunk buffers per thread: direct for the read, heap arrays for a conversion loop the JIT vectorises. */
    private static final ThreadLocal<ByteBuffer> CHUNKS =
            ThreadLocal.withInitial(() -> ByteBuffer.allocateDirect(CHUNK).order(ByteOrder.LITTLE_ENDIAN));
    private static final ThreadLocal<short[]> HALVES = ThreadLocal.withInitial(() -> new short[CHUNK / 2]);
    private static final ThreadLocal<int[]> WORDS = ThreadLocal.withInitial(() -> new int[CHUNK / 2]);

    private void convertHalf(TensorInfo t, ByteBuffer out) throws IOException {
        ByteBuffer chunk = CHUNKS.get();
        short[] halves = HALVES.get();
        int[] words = WORDS.get();
        long pos = dataStart + t.begin();
        long remaining = t.byteLength();
        boolean bf16 = t.dtype() == StDType.BF16;
        java.nio.IntBuffer ints = out.asIntBuffer();
        while (remaining > 0) {
            chunk.clear().limit((int) Math.min(CHUNK, remaining));
            readFully(channel, chunk, pos, path);
            chunk.flip();
            int k = chunk.remaining() / 2;
            chunk.asShortBuffer().get(halves, 0, k);
            if (bf16) {
                for (int i = 0; i < k; i++) {
                    words[i] = (halves[i] & 0xffff) << 16;   // bf16 is the top half of an fp32
                }
            } else {
                for (int i = 0; i < k; i++) {
                    words[i] = Float.floatToRawIntBits(HalfFloats.f16ToFloat(halves[i]));
                }
            }
            ints.put(words, 0, k);
            pos += chunk.limit();
            remaining -= chunk.limit();
        }
    }

    private static void readFully(FileChannel ch, ByteBuffer dst, long position, Path path) throws IOException {
        long pos = position;
        while (dst.hasRemaining()) {
            int n = ch.read(dst, pos);
            if (n < 0) {
                throw new IOException(path + ": unexpected end of file at byte " + pos + " (truncated?)");
            }
            pos += n;
        }
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }
}
