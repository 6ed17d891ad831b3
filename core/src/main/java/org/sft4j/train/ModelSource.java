package org.sft4j.train;

import java.nio.file.Path;
import java.util.Optional;

/**
 * What a run's checkpoints say they were trained from: the model folder whose tokenizer and config files are copied
 * beside each checkpoint, and the name an adapter's {@code base_model_name_or_path} records.
 */
public record ModelSource(Optional<Path> dir, String name) {

    /** A model read from {@code dir}, known to the user as {@code name} (a path, or a hub name). */
    public static ModelSource of(Path dir, String name) {
        return new ModelSource(Optional.of(dir), name);
    }

    /** A model with no files to copy (made in memory, e.g. randomly initialised). */
    public static ModelSource named(String name) {
        return new ModelSource(Optional.empty(), name);
    }
}
