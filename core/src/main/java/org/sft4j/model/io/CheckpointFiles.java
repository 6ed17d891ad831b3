package org.sft4j.model.io;

import com.fasterxml.jackson.databind.JsonNode;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The safetensors files of one Hugging Face checkpoint directory, single or sharded, opened together
 * so that a tensor can be looked up by name wherever it lives.
 */
public final class CheckpointFiles implements AutoCloseable {

    private final Path dir;
    private final List<SafetensorsFile> files;
    private final Map<String, SafetensorsFile> byTensor;

    private CheckpointFiles(Path dir, List<SafetensorsFile> files, Map<String, SafetensorsFile> byTensor) {
        this.dir = dir;
        this.files = files;
        this.byTensor = byTensor;
    }

    /**
     * Opens {@code <prefix>.safetensors} or, when present, the shards listed by
     * {@code <prefix>.safetensors.index.json}.
     */
    public static CheckpointFiles open(Path dir, String prefix) throws IOException {
        Path index = dir.resolve(prefix + ".safetensors.index.json");
        Path single = dir.resolve(prefix + ".safetensors");
        List<Path> paths = new ArrayList<>();
        if (Files.exists(index)) {
            // every shard the index names is opened; tensors are found by the shards' own headers, as transformers does
            for (String f : readWeightMap(index).values()) {
                Path p = dir.resolve(f);
                if (!paths.contains(p)) {
                    paths.add(p);
                }
            }
        } else if (Files.exists(single)) {
            paths.add(single);
        } else {
            throw new IOException(dir + ": neither " + single.getFileName() + " nor " + index.getFileName()
                    + " exists (only safetensors checkpoints are read)");
        }
        List<SafetensorsFile> files = new ArrayList<>();
        Map<String, SafetensorsFile> byTensor = new LinkedHashMap<>();
        try {
            for (Path p : paths) {
                if (!Files.exists(p)) {
                    throw new IOException(index + " names " + p.getFileName() + ", which does not exist");
                }
                SafetensorsFile f = SafetensorsFile.open(p);
                files.add(f);
                for (String name : f.tensors().keySet()) {
                    SafetensorsFile other = byTensor.put(name, f);
                    if (other != null) {
                        throw new IOException(dir + ": tensor '" + name + "' is in both " + other.path().getFileName()
                                + " and " + p.getFileName());
                    }
                }
            }
        } catch (IOException | RuntimeException e) {
            for (SafetensorsFile f : files) {
                f.close();
            }
            throw e;
        }
        return new CheckpointFiles(dir, files, byTensor);
    }

    /** The index's {@code weight_map}; malformed JSON is reported by line and column, in the user's terms. */
    private static Map<String, String> readWeightMap(Path index) throws IOException {
        JsonNode root = org.sft4j.base.JsonFiles.read(index);   // a broken index is named with its line and column
        JsonNode wm = root == null ? null : root.path("weight_map");
        if (wm == null || !wm.isObject()) {
            throw new IOException(index + ": no weight_map object");
        }
        Map<String, String> out = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = wm.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (!e.getValue().isTextual()) {
                throw new IOException(index + ": weight_map entry '" + e.getKey() + "' is not a file name");
            }
            out.put(e.getKey(), e.getValue().asText());
        }
        return out;
    }

    public Path dir() {
        return dir;
    }

    public boolean contains(String name) {
        return byTensor.containsKey(name);
    }

    public java.util.Set<String> names() {
        return byTensor.keySet();
    }

    /** The file holding {@code name}; the error names the directory and the tensor. */
    public SafetensorsFile fileOf(String name) {
        SafetensorsFile f = byTensor.get(name);
        if (f == null) {
            throw new IllegalArgumentException(dir + ": the checkpoint has no tensor '" + name + "'");
        }
        return f;
    }

    public TensorInfo info(String name) {
        return fileOf(name).info(name);
    }

    @Override
    public void close() throws IOException {
        for (SafetensorsFile f : files) {
            f.close();
        }
    }
}
