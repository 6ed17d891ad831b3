package org.sft4j.model.io;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.sft4j.base.JsonFiles;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
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

        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
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
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(tmp);
            throw e;
        }
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    /**
     * Writes {@code tensors} as {@code <prefix>.safetensors}, or as numbered shards of at most
     * {@code maxShardBytes} each plus {@code <prefix>.safetensors.index.json} when they do not fit in one.
     *
     * @return the files written
     */
    public static List<Path> writeSharded(Path dir, String prefix, List<NamedTensor> tensors, long maxShardBytes)
            throws IOException {
        List<List<NamedTensor>> shards = new ArrayList<>();
        List<NamedTensor> current = new ArrayList<>();
        long size = 0;
        long total = 0;
        for (NamedTensor t : tensors) {
            if (!current.isEmpty() && size + t.byteLength() > maxShardBytes) {
                shards.add(current);
                current = new ArrayList<>();
                size = 0;
            }
            current.add(t);
            size += t.byteLength();
            total += t.byteLength();
        }
        shards.add(current);
        List<Path> written = new ArrayList<>();
        if (shards.size() == 1) {
            Path f = dir.resolve(prefix + ".safetensors");
            writeFile(f, shards.get(0), Map.of());
            written.add(f);
            return written;
        }
        Map<String, String> weightMap = new TreeMap<>();
        for (int i = 0; i < shards.size(); i++) {
            String name = String.format("%s-%05d-of-%05d.safetensors", prefix, i + 1, shards.size());
            Path f = dir.resolve(name);
            writeFile(f, shards.get(i), Map.of());
            written.add(f);
            for (NamedTensor t : shards.get(i)) {
                weightMap.put(t.name(), name);
            }
        }
        ObjectNode index = JSON.createObjectNode();
        index.putObject("metadata").put("total_size", total);
        ObjectNode wm = index.putObject("weight_map");
        weightMap.forEach(wm::put);
        Path idx = dir.resolve(prefix + ".safetensors.index.json");
        JsonFiles.writeAtomically(idx, index);
        written.add(idx);
        return written;
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
