package org.sft4j.export;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sft4j.Sft;
import org.sft4j.model.Decoder;
import org.sft4j.model.ModelInputs;
import org.sft4j.testing.Expected;
import org.sft4j.testing.Numerics;
import org.sft4j.testing.Shared;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Sft.mergeAdapter writes a plain checkpoint whose logits are PEFT's base+adapter logits (the llama-lora fixture). */
class MergedAdapterTest {

    @Test
    void theMergedCheckpointGivesPeftsLogits(@TempDir Path tmp) throws Exception {
        MergedAdapter m = Sft.mergeAdapter(Shared.fixtures("models/llama"), Shared.fixtures("models/llama-lora"),
                tmp.resolve("merged"), "float32");
        assertEquals(12 * 512, m.logitsCompared());
        assertTrue(m.maxLogitDifference() < 1e-4, "merging changes no logit: " + m.maxLogitDifference());
        assertTrue(Files.exists(m.dir().resolve("model.safetensors")) && Files.exists(m.dir().resolve("config.json")));
        assertFalse(Files.exists(m.dir().resolve("adapter_config.json")), "a plain checkpoint, no adapter");
        try (Expected base = new Expected(Shared.fixtures("models/llama/expected.safetensors"));
             Expected lora = new Expected(Shared.fixtures("models/llama-lora/expected.safetensors"));
             Decoder merged = Decoder.load(m.dir(), Device.cpu());
             NDManager scope = merged.manager().newSubManager()) {
            long[][] ids = base.longs("input_ids");
            float[] logits = merged.logits(merged.forward(new ModelInputs(ids, Expected.positions(ids),
                    base.ints("attention_mask"), null), scope, null, false)).toFloatArray();
            double err = Numerics.relError(logits, lora.floats("logits"));
            assertTrue(err < 1e-4, "merged logits against PEFT's, rel. error " + err);
        }
    }
}
