package org.sft4j.train;

import ai.djl.Device;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;
import org.sft4j.batch.Batch;
import org.sft4j.model.Decoder;
import org.sft4j.model.ModelConfig;
import org.sft4j.nd.StepScope;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The seeds' long-context shape at the LM head: 20,480 supervised tokens over Qwen's 152,064-token vocabulary. Their
 * logits would be 12.5 GB of fp32 at once; computed and back-propagated a chunk of rows at a time, a training step
 * stays within a small multiple of one chunk's logits.
 */
class ChunkedHeadMemoryTest {

    private static final int CHUNK = 512;

    @Test
    void twentyThousandTokensOverQwensVocabularyNeverHoldTheirLogitsAtOnce() throws IOException {
        assumeTrue(resetPeak(), "needs Linux's resettable peak resident size (/proc/self/clear_refs)");
        ObjectNode c = new ObjectMapper().createObjectNode();
        c.put("model_type", "qwen2").put("vocab_size", 152064).put("hidden_size", 8).put("intermediate_size", 16)
                .put("num_hidden_layers", 1).put("num_attention_heads", 1).put("num_key_value_heads", 1)
                .put("rms_norm_eps", 1e-6).put("rope_theta", 1e6).put("tie_word_embeddings", true)
                .put("max_position_embeddings", 1024);
        ModelConfig cfg = ModelConfig.fromJson(c);
        int rows = 40;
        int t = 512;   // 40 x 512 = 20,480 tokens, every next token supervised but the last of each row
        long[][] ids = new long[rows][t];
        long[][] labels = new long[rows][t];
        int[][] mask = new int[rows][t];
        long[][] pos = new long[rows][t];
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < t; j++) {
                ids[i][j] = (i * 7919L + j * 104729L) % 152064;
                labels[i][j] = ids[i][j];
                mask[i][j] = 1;
                pos[i][j] = j;
            }
        }
        Batch batch = new Batch(ids, labels, mask, pos, null, rows * t, rows * (t - 1));
        long logitsBytes = (long) rows * (t - 1) * 152064 * 4;
        try (Decoder model = Decoder.randomInit(cfg, 0, Device.cpu())) {
            double before = Memory.residentMb();
            assumeTrue(resetPeak(), "the peak resident size could not be reset");
            double sum;
            try (StepScope s = StepScope.open(model.manager())) {
                sum = new LossStep(model, CHUNK).forwardBackward(batch, 1.0 / batch.supervised(), s);
            }
            double growthMb = Memory.peakResidentMb() - before;
            assertTrue(Double.isFinite(sum) && sum > 0, "a loss was computed: " + sum);
            // a chunk's logits, their log-softmax, their gradients and the allocator's slack: a few chunks' worth
            long chunkMb = (long) CHUNK * 152064 * 4 >> 20;
            assertTrue(growthMb < 6 * chunkMb, "peak resident growth " + Math.round(growthMb) + " MB, over 6 chunks' logits ("
                    + 6 * chunkMb + " MB); the logits whole are " + (logitsBytes >> 20) + " MB");
        }
    }

    /** Starts a new peak resident set size (VmHWM), as Linux allows since 4.0. */
    private static boolean resetPeak() {
        try {
            Files.writeString(Path.of("/proc/self/clear_refs"), "5");
            return true;
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }
}
