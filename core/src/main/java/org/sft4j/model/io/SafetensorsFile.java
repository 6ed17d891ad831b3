package org.sft4j.model.io;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Reads a {@code .safetensors} file: an 8-byte little-endian header length, a JSON header, then raw data.
 *
 * <p>Tensors are read with positional reads, a chunk at a time, into buffers the caller keeps, so files and
 * tensors of any size work and the file's pages are not held in memory after loading (DJL's own decoder
 * reads the whole file into one Java array, which stops at 2 GiB and doubles the peak). Every offset is
 * checked against the file size before anything is read: a truncated file is an error, not garbage.
 */
public final class SafetensorsFile implements AutoCloseable {

    private static final ObjectMapper JSON = new ObjectMapper();

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
            readFully(ch, len, 0, path, "the header length");
            long headerLen = len.flip().getLong();
            if (headerLen <= 0 || headerLen > 100_000_000L || 8 + headerLen > size) {
                throw new IOException(path + ": header length " + headerLen + " does not fit in the file of "
                        + size + " bytes (truncated or not safetensors)");
            }
            ByteBuffer hb = ByteBuffer.allocate((int) headerLen);
            readFully(ch, hb, 8, path, "the header");
            JsonNode header;
            try {
                header = JSON.readTree(new String(hb.array(), StandardCharsets.UTF_8));
            } catch (JsonProcessingException e) {
                throw new IOException(path + ": the JSON header does not parse (line " + e.getLocation().getLineNr()
                        + ", column " + e.getLocation().getColumnNr() + "): " + e.getOriginalMessage()
                        + " (truncated or not safetensors?)", e);
            }
            if (header == null || !header.isObject()) {
                throw new IOException(path + ": the header is not a JSON object (not safetensors?)");
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
        StDType dtype;
        try {
            dtype = StDType.parse(v.path("dtype").asText(), where);
        } catch (IllegalArgumentException e) {
            throw new IOException(e.getMessage(), e);
        }
        JsonNode shapeNode = v.path("shape");
        if (!shapeNode.isArray()) {
            throw new IOException(where + ": no shape array in the header");
        }
        long[] shape = new long[shapeNode.size()];
        long numel = 1;
        for (int i = 0; i < shape.length; i++) {
            shape[i] = shapeNode.get(i).asLong(-1);
            if (shape[i] < 0 || !shapeNode.get(i).isIntegralNumber()) {
                throw new IOException(where + ": shape " + shapeNode + " is not a list of sizes");
            }
            try {
                numel = Math.multiplyExact(numel, shape[i]);
            } catch (ArithmeticException e) {
                throw new IOException(where + ": shape " + shapeNode + " has more elements than a file can hold");
            }
        }
        JsonNode off = v.path("data_offsets");
        if (off.size() != 2 || !off.get(0).isIntegralNumber() || !off.get(1).isIntegralNumber()) {
            throw new IOException(where + ": missing data_offsets");
        }
        TensorInfo info = new TensorInfo(name, dtype, shape, off.get(0).asLong(), off.get(1).asLong());
        if (info.begin() < 0 || info.end() < info.begin() || info.end() > dataLen) {
            throw new IOException(where + ": data [" + info.begin() + ", " + info.end() + ") lies outside the "
                    + dataLen + " data bytes of the file (truncated?)");
        }
        if (numel > Long.MAX_VALUE / dtype.bytes() || info.byteLength() != numel * dtype.bytes()) {
            throw new IOException(where + ": " + info.byteLength() + " bytes for shape "
                    + Arrays.toString(shape) + " of " + dtype + " (expected " + numel * dtype.bytes() + ")");
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

    /**
     * Reads {@code dst.remaining()} stored bytes of tensor {@code name} starting {@code byteOffset} bytes into its
     * data. Safe to call from several threads at once (positional reads); the error of a file that ends early
     * names the file and the tensor.
     */
    public void read(String name, long byteOffset, ByteBuffer dst) throws IOException {
        TensorInfo t = info(name);
        if (byteOffset < 0 || byteOffset + dst.remaining() > t.byteLength()) {
            throw new IllegalArgumentException(path + ": tensor '" + name + "' has " + t.byteLength()
                    + " bytes; cannot read " + dst.remaining() + " at " + byteOffset);
        }
        readFully(channel, dst, dataStart + t.begin() + byteOffset, path, "tensor '" + name + "'");
    }

    /** The raw bytes of a tensor of at most 2 GiB, as stored (little-endian), in a new direct buffer. */
    public ByteBuffer readRaw(String name) throws IOException {
        TensorInfo t = info(name);
        ByteBuffer out = ByteBuffer.allocateDirect(wholeSize(t, t.byteLength())).order(ByteOrder.LITTLE_ENDIAN);
        read(name, 0, out);
        return out.flip();
    }

    /**
     * A floating point tensor of at most 2 GiB as fp32, in a new direct native-order buffer (small tensors:
     * fixtures, adapters; models go through {@code TensorReader} a chunk at a time).
     */
    public ByteBuffer readAsFloat32(String name) throws IOException {
        TensorInfo t = info(name);
        if (!t.dtype().isFloat()) {
            throw new IOException(path + ": tensor '" + name + "' is " + t.dtype() + ", not a floating point type");
        }
        ByteBuffer out = ByteBuffer.allocateDirect(wholeSize(t, t.numel() * 4)).order(ByteOrder.LITTLE_ENDIAN);
        ByteBuffer chunk = ByteBuffer.allocateDirect((int) Math.min(t.byteLength(), Elements.CHUNK_BYTES))
                .order(ByteOrder.LITTLE_ENDIAN);
        for (long at = 0; at < t.byteLength(); at += chunk.capacity()) {
            chunk.clear().limit((int) Math.min(chunk.capacity(), t.byteLength() - at));
            read(name, at, chunk);
            Elements.convert(chunk.flip(), t.dtype(), out, StDType.F32);
        }
        return out.flip();
    }

    private int wholeSize(TensorInfo t, long bytes) {
        if (bytes > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(path + ": tensor '" + t.name() + "' takes " + bytes
                    + " bytes, more than one buffer holds; read it in chunks with read(name, offset, buffer)");
        }
        return (int) bytes;
    }

    private static void readFully(FileChannel ch, ByteBuffer dst, long position, Path path, String what)
            throws IOException {
        long pos = position;
        while (dst.hasRemaining()) {
            int n = ch.read(dst, pos);
            if (n < 0) {
                throw new IOException(path + ": the file ends at byte " + pos + " while reading " + what
                        + " (truncated?)");
            }
            pos += n;
        }
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }
}
