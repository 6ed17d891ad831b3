package org.sft4j.data;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sft4j.base.JsonFiles;
import org.sft4j.tokenize.EncodedExample;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Two writers of one file at once, as the launchers of two nodes prepare the same data in a shared output_dir: both
 * finish, and the file is whole (a shared temporary name let one writer move the other's file away).
 */
class SharedFolderWritersTest {

    private static EncodedExample example(int i) {
        return new EncodedExample("row" + i, new int[] {1, 2, 3, i}, new int[] {-100, 2, 3, i}, false);
    }

    @Test
    void twoWritersOfOneParquetFileBothCommit(@TempDir Path tmp) throws Exception {
        Path target = tmp.resolve("train.parquet");
        try (TokenizedWriter a = new TokenizedWriter(target); TokenizedWriter b = new TokenizedWriter(target)) {
            for (int i = 0; i < 5; i++) {
                a.write(example(i));
                b.write(example(i));
            }
            a.commit();
            b.commit();
        }
        assertEquals(5, TokenizedSet.read(target).size());
        try (var files = Files.list(tmp)) {
            assertEquals(1, files.count(), "no temporary file left beside it");
        }
    }

    @Test
    void jsonWrittenAtomicallyLeavesOnlyTheFile(@TempDir Path tmp) throws Exception {
        Path target = tmp.resolve("report.json");
        JsonFiles.writeAtomically(target, Map.of("kept", 5));
        JsonFiles.writeAtomically(target, Map.of("kept", 6));
        assertEquals(6, JsonFiles.read(target).get("kept").asInt());
        try (var files = Files.list(tmp)) {
            assertEquals(1, files.count());
        }
    }
}
