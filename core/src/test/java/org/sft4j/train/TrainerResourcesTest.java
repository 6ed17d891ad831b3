package org.sft4j.train;

import ai.djl.Device;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sft4j.data.TokenizedSet;
import org.sft4j.model.Decoder;
import org.sft4j.testing.Shared;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The trainer frees what it owns: a notebook that trains one model twice holds one set of AdamW moments, not two. */
class TrainerResourcesTest {

    @Test
    void withTheExtensionNoGradientIsHeldBetweenSteps(@TempDir Path tmp) throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(org.sft4j.nd.NativeOps.available(), "needs the native extension");
        TokenizedSet data = TrainFixtures.random(8, 6, 20, 2, 3);
        try (Decoder model = Decoder.load(Shared.fixtures("models/llama"), Device.cpu())) {
            int[] held = {-1, -1};
            TrainListener probe = new TrainListener() {
                @Override
                public void onStep(StepLog log) {   // after the update: what the next forward starts with
                    int n = 0;
                    for (var p : model.trainableParameters()) {
                        try (var g = org.sft4j.nd.Tensors.gradOrNull(p.array())) {
                            n += g == null ? 0 : 1;
                        }
                    }
                    held[log.step() - 1] = n;
                }
            };
            TrainResult r = TrainFixtures.fit(TrainFixtures.args(tmp, Map.of("max_steps", 2, "per_device_train_batch_size", 4,
                    "logging_steps", 1)), model, data, List.of(probe));
            assertEquals(TrainResult.Status.COMPLETED, r.status());
            assertEquals(0, held[0], "gradients freed after step 1 (zero_grad(set_to_none=True))");
            assertEquals(0, held[1], "and after step 2");
        }
    }

    @Test
    void twoTrainingsOfOneModelKeepNoSecondSetOfOptimizerMoments(@TempDir Path tmp) throws Exception {
        TokenizedSet data = TrainFixtures.random(8, 6, 20, 2, 3);
        try (Decoder model = Decoder.load(Shared.fixtures("models/llama"), Device.cpu())) {
            int moments = 2 * model.trainableParameters().size();
            int[] during = new int[2];
            int[] after = new int[2];
            for (int run = 0; run < 2; run++) {
                int r = run;
                TrainListener counter = new TrainListener() {
                    @Override
                    public void onStep(StepLog log) {
                        during[r] = model.manager().getManagedArrays().size();
                    }
                };
                TrainFixtures.fit(TrainFixtures.args(tmp.resolve("run" + run), Map.of("max_steps", 2, "per_device_train_batch_size", 4)),
                        model, data, List.of(counter));
                after[run] = model.manager().getManagedArrays().size();
            }
            assertTrue(during[0] >= after[0] + moments, "the moments live while training: " + during[0] + " vs " + after[0]);
            assertEquals(after[0], after[1], "live arrays after the first and the second training");
            assertEquals(during[0], during[1], "live arrays while training, first and second time");
        }
    }
}
