package org.sft4j.model.io;

import com.fasterxml.jackson.databind.JsonNode;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
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
            JsonNode wm = org.sft4j.base.JsonFiles.read(index).path("weight_map");
            if (!wm.isObject()) {
                throw new IOException(index + ": no weight_map object");
            }
            wm.elements().forEachRemaining(f -> {
                Path p = dir.resolve(f.asText());
                if (!paths.contains(p)) {
                    paths.add(p);
                }
            });
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
                    byTensor.put(name, f);
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
