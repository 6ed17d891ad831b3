package org.sft4j.model;

import ai.djl.Device;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sft4j.model.io.SafetensorsFile;
import org.sft4j.testing.Shared;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Bad checkpoints fail with messages that name what is wrong. */
class BadCheckpointTest {

    private static Path copyFixture(Path tmp) throws IOException {
        Path src = Shared.fixtures("models/llama");
        Path dir = tmp.resolve("m");
        Files.createDirectories(dir);
        for (String f : new String[] {"config.json", "model.safetensors"}) {
            Files.copy(src.resolve(f), dir.resolve(f), StandardCopyOption.REPLACE_EXISTING);
        }
        return dir;
    }

    @Test
    void unsupportedArchitectureNamesTheSupportedOnes(@TempDir Path tmp) throws IOException {
        Path dir = copyFixture(tmp);
        Files.writeString(dir.resolve("config.json"),
                Files.readString(dir.resolve("config.json")).replace("\"llama\"", "\"gpt2\""));
        IOException e = assertThrows(IOException.class, () -> Decoder.load(dir, Device.cpu()));
        assertTrue(e.getMessage().contains("gpt2") && e.getMessage().contains("qwen2")
                && e.getMessage().contains("mistral"), e.getMessage());
    }

    @Test
    void shapeMismatchNamesTensorAndBothShapes(@TempDir Path tmp) throws IOException {
        Path dir = copyFixture(tmp);
        Files.writeString(dir.resolve("config.json"),
                Files.readString(dir.resolve("config.json")).replace("\"intermediate_size\": 160", "\"intermediate_size\": 128"));
        IOException e = assertThrows(IOException.class, () -> Decoder.load(dir, Device.cpu()));
        assertTrue(e.getMessage().contains("model.layers.0.mlp.gate_proj.weight") && e.getMessage().contains("[160, 64]")
                && e.getMessage().contains("[128, 64]"), e.getMessage());
    }

    @Test
    void missingTensorIsNamed(@TempDir Path tmp) throws IOException {
        Path dir = copyFixture(tmp);
        Files.writeString(dir.resolve("config.json"),
                Files.readString(dir.resolve("config.json")).replace("\"tie_word_embeddings\": false", "\"attention_bias\": true, \"tie_word_embeddings\": false")
                        .replace("\"attention_bias\": false,", ""));
        IOException e = assertThrows(IOException.class, () -> Decoder.load(dir, Device.cpu()));
        assertTrue(e.getMessage().contains("missing tensor 'model.layers.0.self_attn.q_proj.bias'"), e.getMessage());
    }

    @Test
    void truncatedFileIsAnErrorNotGarbage(@TempDir Path tmp) throws IOException {
        Path dir = copyFixture(tmp);
        Path f = dir.resolve("model.safetensors");
        byte[] all = Files.readAllBytes(f);
        Files.write(f, java.util.Arrays.copyOf(all, all.length - 1000));
        IOException e = assertThrows(IOException.class, () -> Decoder.load(dir, Device.cpu()));
        assertTrue(e.getMessage().contains("truncated") && e.getMessage().contains("model.safetensors"), e.getMessage());
        Files.write(f, java.util.Arrays.copyOf(all, 5));
        IOException tiny = assertThrows(IOException.class, () -> SafetensorsFile.open(f));
        assertTrue(tiny.getMessage().contains("truncated"), tiny.getMessage());
    }
}
