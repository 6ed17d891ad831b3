package org.sft4j.train;

import ai.djl.Device;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sft4j.model.Decoder;
import org.sft4j.model.Parameter;
import org.sft4j.nd.Tensors;
import org.sft4j.testing.Expected;
import org.sft4j.testing.Numerics;
import org.sft4j.testing.Shared;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Five optimizer steps against torch AdamW + clip_grad_norm_ + cosine warm-up (train_steps.json, after_5_steps). */
class AdamWFixtureTest {

    @Test
    void fiveStepsMatchTorch(@TempDir Path tmp) throws Exception {
        JsonNode rec = new ObjectMapper().readTree(Shared.fixtures("models/llama/train_steps.json").toFile()).get("records");
        TrainFixtures.Recorder r = new TrainFixtures.Recorder();
        try (Decoder model = Decoder.load(Shared.fixtures("models/llama"), Device.cpu());
             Expected after = new Expected(Shared.fixtures("models/llama/after_5_steps.safetensors"))) {
            TrainFixtures.fit(TrainFixtures.args(tmp, Map.of("learning_rate", 1e-3, "lr_scheduler_type", "cosine",
                    "warmup_steps", 2, "max_steps", 5, "per_device_train_batch_size", 3, "weight_decay", 0.01,
                    "decay_norms_and_biases", true, "max_grad_norm", 1.0)), model, TrainFixtures.fixtureBatch(), List.of(r));
            assertEquals(5, r.steps.size());
            for (int s = 0; s < 5; s++) {
                JsonNode e = rec.get(s);
                StepLog got = r.steps.get(s);
                assertTrue(Numerics.relError(got.loss(), e.get("loss").asDouble()) < 1e-4, "step " + (s + 1) + " loss " + got.loss());
                assertTrue(Numerics.relError(got.gradNorm(), e.get("grad_norm_before_clip").asDouble()) < 1e-4,
                        "step " + (s + 1) + " grad norm " + got.gradNorm());
                assertEquals(e.get("lr").asDouble(), got.lr(), 1e-12, "step " + (s + 1) + " lr");
            }
            int compared = 0;
            for (Parameter p : model.baseParameters()) {
                double err = Numerics.relError(Tensors.toFloats(p.array()), after.floats(p.name()));
                assertTrue(err < 1e-4, p.name() + " after 5 steps rel. error " + err);
                compared++;
            }
            assertEquals(after.names().size(), compared, "every weight of after_5_steps is compared");
        }
    }
}
