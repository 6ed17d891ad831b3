package org.sft4j.hub;

import ai.djl.Device;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sft4j.model.Decoder;
import org.sft4j.testing.FakeHub;
import org.sft4j.testing.Shared;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class HubClientTest {

    @Test
    void parsesTheUriForms() {
        HubUri m = HubUri.parse("hf://Qwen/Qwen2.5-0.5B");
        assertEquals(HubUri.RepoType.MODEL, m.type());
        assertEquals("Qwen/Qwen2.5-0.5B", m.repoId());
        HubUri d = HubUri.parse("hf://datasets/Unbabel/TowerBlocks-v0.1@v2/data/train.parquet");
        assertEquals(HubUri.RepoType.DATASET, d.type());
        assertEquals("v2", d.revision());
        assertEquals("data/train.parquet", d.path());
        assertEquals(HubUri.RepoType.DATASET, HubUri.parse("hg://owner/set").type());
        assertThrows(IllegalArgumentException.class, () -> HubUri.parse("hf://onlyowner"));
    }

    @Test
    void downloadsAModelOnceThenLoadsItFromTheCache(@TempDir Path tmp) throws Exception {
        try (FakeHub hub = new FakeHub()) {
            hub.addRepo("models/acme/tiny-llama", Shared.fixtures("models/llama"), "config.json",
                    "generation_config.json", "model.safetensors", "expected.safetensors");
            HubClient client = new HubClient(hub.endpoint(), null, tmp.resolve("cache"), false);
            Path dir = Sources.model("hf://acme/tiny-llama", client);
            assertTrue(dir.toString().contains("models--acme--tiny-llama/snapshots/" + FakeHub.SHA), dir.toString());
            assertTrue(Files.exists(dir.resolve("model.safetensors")));
            assertTrue(Files.notExists(dir.resolve("expected.safetensors")), "only the files a model needs");
            assertEquals(3, hub.fileRequests.get());
            try (Decoder d = Decoder.load(dir, Device.cpu())) {
                assertEquals(2, d.config().numLayers());
            }
            Sources.model("acme/tiny-llama", client);      // bare OWNER/NAME works too
            assertEquals(3, hub.fileRequests.get(), "cached files are not fetched again");
            HubClient offline = new HubClient(hub.endpoint(), null, tmp.resolve("cache"), true);
            assertEquals(dir, Sources.model("hf://acme/tiny-llama", offline));
            assertEquals(2, hub.apiRequests.get(), "offline mode does not call the API");
        }
    }

    @Test
    void downloadsOneDatasetFileAndNamesMissingRepos(@TempDir Path tmp) throws Exception {
        try (FakeHub hub = new FakeHub()) {
            hub.addFile("datasets/acme/mt", "data/train.jsonl", "{\"src\":\"a\",\"tgt\":\"b\"}\n".getBytes(StandardCharsets.UTF_8));
            hub.addFile("datasets/acme/mt", "README.md", "x".getBytes(StandardCharsets.UTF_8));
            HubClient client = new HubClient(hub.endpoint(), null, tmp, false);
            Path f = Sources.dataset("hf://datasets/acme/mt/data/train.jsonl", client);
            assertEquals("{\"src\":\"a\",\"tgt\":\"b\"}\n", Files.readString(f));
            Path viaFairseq = Sources.dataset("hg://acme/mt", client);
            assertTrue(Files.isDirectory(viaFairseq));
            IOException e = assertThrows(IOException.class, () -> Sources.dataset("hf://datasets/acme/nope", client));
            assertTrue(e.getMessage().contains("acme/nope") && e.getMessage().contains("404"), e.getMessage());
        }
    }

    @Test
    void unreachableHubWithoutCacheSaysSo(@TempDir Path tmp) {
        HubClient client = new HubClient("http://127.0.0.1:9", null, tmp, false);
        IOException e = assertThrows(IOException.class, () -> Sources.model("hf://acme/none", client));
        assertTrue(e.getMessage().contains("cannot be reached") && e.getMessage().contains("acme/none"), e.getMessage());
    }
}
