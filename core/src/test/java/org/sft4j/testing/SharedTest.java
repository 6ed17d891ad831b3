package org.sft4j.testing;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.zip.GZIPOutputStream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The repository carries its test data: packed files come out unpacked, in shared/'s layout. */
class SharedTest {

    @Test
    void theRepositorysCopyHasWhatTheTestsRead() throws Exception {
        Path qwen = Shared.tokenizer("qwen2.5-0.5b-instruct");
        assertTrue(new ObjectMapper().readTree(qwen.resolve("tokenizer.json").toFile()).has("model"), "unpacked JSON");
        assertFalse(Files.exists(qwen.resolve("tokenizer.json.gz")), "only the unpacked name is shown");
        byte[] head = Files.readAllBytes(Shared.data("multi30k/train.en.gz"));
        assertEquals((byte) 0x1f, head[0], "a file that is gzip data stays gzip");
        assertTrue(Files.isRegularFile(Shared.tokenizer("smollm2-135m-instruct").resolve("tokenizer.json")));
        assertTrue(Files.isRegularFile(Shared.tokenizer("qwen3-hybrid").resolve("vocab.json")));
        for (String m : new String[] {"llama", "qwen2", "qwen3", "gemma3", "phi3", "mistral", "llama3-rope"}) {
            assertTrue(Files.isRegularFile(Shared.fixtures("models/" + m + "/model.safetensors")), m);
            assertTrue(Files.isRegularFile(Shared.fixtures("models/" + m + "-bf16/model.safetensors")), m + "-bf16");
        }
        if (System.getenv("SFT4J_SHARED") == null || System.getenv("SFT4J_SHARED").isBlank()) {
            assertTrue(Shared.root().endsWith(Path.of("build", "testdata")), Shared.root().toString());
        }
    }

    @Test
    void unpacksOnceAndAgainWhenASourceChanges(@TempDir Path repo) throws Exception {
        Path packed = repo.resolve("testdata/fixtures/a.json.gz");
        Files.createDirectories(packed.getParent());
        Files.write(packed, gzip("{\"a\": 1}"));
        Files.createDirectories(repo.resolve("testdata/data"));
        for (String d : new String[] {"multi30k", "alpaca", "smollm2-135m-instruct"}) {
            Files.createDirectories(repo.resolve("notebooks/data").resolve(d));
        }
        Path corpus = Files.write(repo.resolve("notebooks/data/multi30k/val.en.gz"), gzip("a\n"));

        Path out = TestData.unpacked(repo);
        assertEquals(repo.resolve("build/testdata"), out);
        assertEquals("{\"a\": 1}", Files.readString(out.resolve("fixtures/a.json")));
        assertArrayEquals(Files.readAllBytes(corpus), Files.readAllBytes(out.resolve("data/multi30k/val.en.gz")));

        Files.writeString(out.resolve("marker"), "kept while nothing changes");
        TestData.unpacked(repo);
        assertTrue(Files.exists(out.resolve("marker")));

        Files.write(packed, gzip("{\"a\": 2}"));
        Files.setLastModifiedTime(packed, FileTime.fromMillis(Files.getLastModifiedTime(packed).toMillis() + 5000));
        TestData.unpacked(repo);
        assertEquals("{\"a\": 2}", Files.readString(out.resolve("fixtures/a.json")));
        assertFalse(Files.exists(out.resolve("marker")), "redone from the sources");
    }

    private static byte[] gzip(String s) throws Exception {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        try (GZIPOutputStream z = new GZIPOutputStream(b)) {
            z.write(s.getBytes(java.nio.charset.StandardCharsets.UTF_8));
        }
        return b.toByteArray();
    }
}
