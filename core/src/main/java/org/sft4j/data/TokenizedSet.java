package org.sft4j.data;

import org.sft4j.tokenize.EncodedExample;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * A tokenized split in memory, as the trainer batches it. Read from the Parquet file the data step wrote,
 * so a training run never depends on the notebook's memory.
 */
public record TokenizedSet(List<EncodedExample> examples) {

    public int size() {
        return examples.size();
    }

    public EncodedExample get(int i) {
        return examples.get(i);
    }

    public long tokens() {
        return examples.stream().mapToLong(EncodedExample::length).sum();
    }

    public long supervisedTokens() {
        return examples.stream().mapToLong(EncodedExample::supervised).sum();
    }

    /** Reads the Parquet file the data step wrote ({@link TokenizedReader}). */
    public static TokenizedSet read(Path file) throws IOException {
        return TokenizedReader.read(file);
    }
}
