package org.sft4j.cli;

import org.sft4j.testing.Shared;

import java.nio.file.Files;
import java.nio.file.Path;

/** A writable copy of the tiny llama fixture (vocabulary 512, 256 positions) for tests that break it. */
final class BadInputTestModels {

    private BadInputTestModels() {}

    static Path llama(Path tmp) throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("model"));
        for (String f : new String[] {"config.json", "model.safetensors", "generation_config.json"}) {
            Files.copy(Shared.fixtures("models/llama/" + f), dir.resolve(f));
        }
        return dir;
    }
}
