package org.sft4j.model.io;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.sft4j.base.JsonFiles;
import org.sft4j.base.TempFiles;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Writes safetensors files the way the {@code safetensors} Python package does: a JSON header with
 * {@code __metadata__: {"format": "pt"}}, 8-byte aligned, followed by the tensors' bytes. Large sets
 * are split into shards with a {@code *.safetensors.index.json}, as {@code save_pretrained} does.
 *
 * <p>Each tensor's bytes are streamed from its source, a chunk at a time, so neither a tensor nor a shard is held
 * whole in memory. Each file is written under a temporary name and renamed when complete.
 */
public final class SafetensorsWriter {

    private static final ObjectMapper JSON = new ObjectMapper();

    private SafetensorsWriter() {}

    /** Writes one file holding {@code tensors}. */
    public static void writeFile(Path file, List<NamedTensor> tensors, Map<String, String> metadata) throws IOException {
        ObjectNode header = JSON.createObjectNode();
        ObjectNode meta = header.putObject("__metadata__");
        meta.put("format", "pt");
        metadata.forEach(meta::put);
        long offset = 0;
        for (NamedTensor t : tensors) {
            ObjectNode e = header.putObject(t.name());
            e.put("dtype", t.dtype().name());
            ArrayNode shape = e.putArray("shape");
            for (long d : t.shape()) {
                shape.add(d);
            }
            ArrayNode off = e.putArray("data_offsets");
            off.add(offset);
            off.add(offset + t.byteLength());
            offset += t.byteLength();
        }
        byte[] hb = JSON.writeValueAsString(header).getBytes(StandardCharsets.UTF_8);
        int padded = (hb.length + 7) / 8 * 8; // the format pads the header with spaces to 8 bytes
        ByteBuffer prefix = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN);
        prefix.putLong(padded).put(hb);
        while (prefix.hasRemaining()) {
            prefix.put((byte) ' ');
        }
        prefix.flip();

        TempFiles.write(file, tmp -> {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                    StandardOpenOption.WRITE)) {
                writeFully(ch, prefix);
                for (NamedTensor t : tensors) {
                    long start = ch.position();
                    t.bytes().writeTo(new Appender(ch, start + t.byteLength(), file, t.name()));
                    if (ch.position() - start != t.byteLength()) {
                        throw new IOException(file + ": tensor '" + t.name() + "' supplied " + (ch.position() - start)
                                + " bytes, expected " + t.byteLength());
                    }
                }
                ch.force(true);
            }
        });
    }

    /**
     * Writes {@code tensors} as {@code <prefix>.safetensors}, or as numbered shards of at most
     * {@code maxShardBytes} each ({@code <prefix>-00001-of-00003.safetensors}, ...) plus
     * {@code <prefix>.safetensors.index.json} when they do not fit in one, split as {@code save_pretrained}
     * splits them (huggingface_hub's {@code split_torch_state_dict_into_shards}): in the given order, a tensor larger
     * than the limit alone in a shard of its own, the others filling shards up to the limit.
     *
     * @return the files written
     */
    public static List<Path> writeSharded(Path dir, String prefix, List<NamedTensor> tensors, long maxShardBytes)
            throws IOException {
        List<List<NamedTensor>> shards = split(tensors, maxShardBytes);
        List<Path> written = new ArrayList<>();
        if (shards.size() == 1) {
            Path f = dir.resolve(prefix + ".safetensors");
            writeFile(f, shards.get(0), Map.of());
            written.add(f);
            return written;
        }
        Map<String, String> weightMap = new TreeMap<>();
        long totalSize = 0;
        long totalParameters = 0;
        for (int i = 0; i < shards.size(); i++) {
            String name = String.format("%s-%05d-of-%05d.safetensors", prefix, i + 1, shards.size());
            Path f = dir.resolve(name);
            writeFile(f, shards.get(i), Map.of());
            written.add(f);
            for (NamedTensor t : shards.get(i)) {
                weightMap.put(t.name(), name);
                totalSize += t.byteLength();
                totalParameters += t.byteLength() / t.dtype().bytes();
            }
        }
        ObjectNode index = JSON.createObjectNode();
        index.putObject("metadata").put("total_parameters", totalParameters).put("total_size", totalSize);
        ObjectNode wm = index.putObject("weight_map");
        weightMap.forEach(wm::put);
        Path idx = dir.resolve(prefix + ".safetensors.index.json");
        JsonFiles.writeAtomically(idx, index);
        written.add(idx);
        return written;
    }

    /** huggingface_hub's split: oversized tensors alone, where they occur; the rest packed up to the limit. */
    static List<List<NamedTensor>> split(List<NamedTensor> tensors, long maxShardBytes) {
        List<List<NamedTensor>> shards = new ArrayList<>();
        List<NamedTensor> current = new ArrayList<>();
        long size = 0;
        for (NamedTensor t : tensors) {
            if (t.byteLength() > maxShardBytes) {
                shards.add(List.of(t));
                continue;
            }
            if (size + t.byteLength() > maxShardBytes) {
                shards.add(current);
                current = new ArrayList<>();
                size = 0;
            }
            current.add(t);
            size += t.byteLength();
        }
        if (!current.isEmpty() || shards.isEmpty()) {
            shards.add(current);
        }
        return shards;
    }

    /**
     * The order transformers (5.x) saves a state dict in: names compared part by part between dots, numbers as
     * numbers ({@code layers.2} before {@code layers.10}), as its {@code dot_natural_key}.
     */
    public static final Comparator<String> STATE_DICT_ORDER = SafetensorsWriter::compareNatural;

    private static int compareNatural(String a, String b) {
        String[] pa = a.split("\\.", -1);
        String[] pb = b.split("\\.", -1);
        for (int i = 0; i < Math.min(pa.length, pb.length); i++) {
            int c = comparePart(pa[i], pb[i]);
            if (c != 0) {
                return c;
            }
        }
        return Integer.compare(pa.length, pb.length);
    }

    /** A part: all digits sorts first, by value; otherwise by its text, then by the value of trailing digits. */
    private static int comparePart(String a, String b) {
        boolean na = isNumber(a);
        boolean nb = isNumber(b);
        if (na || nb) {
            return na && nb ? new BigInteger(a).compareTo(new BigInteger(b)) : na ? -1 : 1;
        }
        String ta = stripDigits(a);
        String tb = stripDigits(b);
        int c = ta.compareTo(tb);
        if (c != 0) {
            return c;
        }
        String da = a.substring(ta.length());
        String db = b.substring(tb.length());
        if (da.isEmpty() || db.isEmpty()) {
            return Boolean.compare(!da.isEmpty(), !db.isEmpty());
        }
        return new BigInteger(da).compareTo(new BigInteger(db));
    }

    private static boolean isNumber(String s) {
        return !s.isEmpty() && s.chars().allMatch(ch -> ch >= '0' && ch <= '9');
    }

    private static String stripDigits(String s) {
        int end = s.length();
        while (end > 0 && Character.isDigit(s.charAt(end - 1)) && s.charAt(end - 1) <= '9') {
            end--;
        }
        return s.substring(0, end);
    }

    private static void writeFully(FileChannel ch, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) {
            ch.write(b);
        }
    }

    /** The file as one tensor's source sees it: appends only, and no further than the tensor's end. */
    private static final class Appender implements WritableByteChannel {
        private final FileChannel ch;
        private final long end;
        private final Path file;
        private final String tensor;

        Appender(FileChannel ch, long end, Path file, String tensor) {
            this.ch = ch;
            this.end = end;
            this.file = file;
            this.tensor = tensor;
        }

        @Override
        public int write(ByteBuffer src) throws IOException {
            if (ch.position() + src.remaining() > end) {
                throw new IOException(file + ": tensor '" + tensor + "' supplied more than its "
                        + "shape and dtype hold");
            }
            int n = src.remaining();
            writeFully(ch, src);
            return n;
        }

        @Override
        public boolean isOpen() {
            return ch.isOpen();
        }

        @Override
        public void close() {
            // the writer closes the file
        }
    }
}
