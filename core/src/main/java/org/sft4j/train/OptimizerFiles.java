package org.sft4j.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import org.sft4j.base.UserError;
import org.sft4j.model.io.NamedTensor;
import org.sft4j.model.io.SafetensorsFile;
import org.sft4j.model.io.SafetensorsWriter;
import org.sft4j.model.io.StDType;
import org.sft4j.model.io.TensorInfo;
import org.sft4j.model.io.TensorReader;
import org.sft4j.model.io.TensorSource;
import org.sft4j.nd.FlatBuffers;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * AdamW's moments in a checkpoint, by parameter: {@code m.<name>} and {@code v.<name>} (and any other state the
 * optimizer keeps per parameter under a prefix of its own). One process writes them
 * whole in {@code optimizer.safetensors}; each rank of a sharded run writes the pieces it owns in
 * {@code optimizer-<rank>-of-<world>.safetensors}, a piece flat with its first element's index in the parameter in
 * the file's metadata ({@code start.m.<name>}). Reading takes any range of a parameter's moments from whichever
 * pieces hold it, so a run resumes onto any number of ranks, sharded or not.
 */
final class OptimizerFiles implements AutoCloseable {

    static final String WHOLE = "optimizer.safetensors";

    /** One stored piece: elements {@code [start, start + count)} of a parameter's moment. */
    private record Piece(SafetensorsFile file, String tensor, long start, long count) {}

    private final Path checkpoint;
    private final List<SafetensorsFile> files;
    private final Map<String, List<Piece>> pieces = new LinkedHashMap<>();

    private OptimizerFiles(Path checkpoint, List<SafetensorsFile> files) {
        this.checkpoint = checkpoint;
        this.files = files;
        for (SafetensorsFile f : files) {
            for (TensorInfo t : f.tensors().values()) {
                String start = f.metadata().get("start." + t.name());
                long count = 1;
                for (long d : t.shape()) {
                    count *= d;
                }
                pieces.computeIfAbsent(t.name(), k -> new ArrayList<>())
                        .add(new Piece(f, t.name(), start == null ? 0 : Long.parseLong(start), count));
            }
        }
    }

    /** The moment files of a checkpoint (whole, or one per rank of the run that wrote it). */
    static OptimizerFiles open(Path checkpoint) throws IOException {
        List<Path> paths = new ArrayList<>();
        if (Files.exists(checkpoint.resolve(WHOLE))) {
            paths.add(checkpoint.resolve(WHOLE));
        } else {
            try (Stream<Path> s = Files.list(checkpoint)) {
                s.filter(p -> p.getFileName().toString().matches("optimizer-\\d{5}-of-\\d{5}\\.safetensors"))
                        .sorted(Comparator.comparing(Path::toString)).forEach(paths::add);
            }
        }
        if (paths.isEmpty()) {
            throw new UserError(checkpoint + " has no optimizer state (" + WHOLE + " or optimizer-NNNNN-of-NNNNN.safetensors)");
        }
        List<SafetensorsFile> files = new ArrayList<>();
        try {
            for (Path p : paths) {
                files.add(SafetensorsFile.open(p));
            }
        } catch (IOException | RuntimeException e) {
            for (SafetensorsFile f : files) {
                f.close();
            }
            throw e;
        }
        return new OptimizerFiles(checkpoint, files);
    }

    /** The name of rank {@code rank}'s file among {@code world}. */
    static String rankFile(int rank, int world) {
        return String.format("optimizer-%05d-of-%05d.safetensors", rank, world);
    }

    /**
     * Copies elements {@code [from, from + count)} of moment {@code key} ({@code m.<name>} or {@code v.<name>}) into
     * elements {@code [at, at + count)} of the flat {@code target}, converted to its type.
     */
    void read(String key, long from, long count, NDArray target, long at) throws IOException {
        List<Piece> ps = pieces.getOrDefault(key, List.of());
        long covered = 0;
        for (Piece p : ps) {
            long lo = Math.max(from, p.start());
            long hi = Math.min(from + count, p.start() + p.count());
            if (lo >= hi) {
                continue;
            }
            DataType type = org.sft4j.nd.DataTypes.of(target);
            try (NDArray whole = TensorReader.read(p.file(), p.tensor(), target.getManager(), type)) {
                FlatBuffers.copySlice(target, at + lo - from, whole, lo - p.start(), hi - lo);
            }
            covered += hi - lo;
        }
        if (covered != count) {
            throw new UserError(checkpoint + ": the optimizer state has no '" + key + "' for elements [" + from + ", "
                    + (from + count) + ") (was the checkpoint written for another model or method?)");
        }
    }

    /** Whether the checkpoint holds any of state {@code key} (Kahan compensation exists only where it was used). */
    boolean has(String key) {
        return pieces.containsKey(key);
    }

    /** Moments of a parameter as a whole, shaped like {@code target} (one process's restore). */
    void readWhole(String key, NDArray target) throws IOException {
        List<Piece> ps = pieces.getOrDefault(key, List.of());
        if (ps.size() == 1 && ps.get(0).start() == 0 && ps.get(0).count() == target.size()
                && java.util.Arrays.equals(ps.get(0).file().info(key).shape(), target.getShape().getShape())) {
            TensorReader.readInto(ps.get(0).file(), key, target);   // in the moments' own type, bf16 included
            return;
        }
        try (NDArray flat = target.reshape(-1)) {
            read(key, 0, target.size(), flat, 0);
        }
    }

    /**
     * Writes this rank's pieces: for each shard group, the moments of the parameters overlapping the rank's slice,
     * named by parameter, with where each piece starts.
     */
    static void writeRank(Path file, List<ShardGroup> groups, Map<String, NDArray> moments) throws IOException {
        List<NamedTensor> tensors = new ArrayList<>();
        List<NDArray> views = new ArrayList<>();
        Map<String, String> starts = new LinkedHashMap<>();
        for (String which : kinds(moments)) {
            for (ShardGroup g : groups) {
                NDArray moment = moments.get(which + "." + g.name());
                for (ShardGroup.Piece p : g.pieces()) {
                    String name = which + "." + p.param().name();
                    NDArray view = FlatBuffers.view(moment, p.inShard(), new ai.djl.ndarray.types.Shape(p.count()));
                    views.add(view);
                    tensors.add(TensorSource.of(name, view, StDType.F32));
                    starts.put("start." + name, String.valueOf(p.inParam()));
                }
            }
        }
        try {
            SafetensorsWriter.writeFile(file, tensors, starts);
        } finally {
            views.forEach(NDArray::close);
        }
    }

    /**
     * The kinds of state an optimizer keeps per parameter, from its keys {@code <kind>.<name>}: AdamW's {@code m} and
     * {@code v}, and whatever else it checkpoints the same way.
     */
    static List<String> kinds(Map<String, NDArray> states) {
        return states.keySet().stream().map(k -> k.substring(0, k.indexOf('.'))).distinct().toList();
    }

    @Override
    public void close() throws IOException {
        for (SafetensorsFile f : files) {
            f.close();
        }
    }
}
