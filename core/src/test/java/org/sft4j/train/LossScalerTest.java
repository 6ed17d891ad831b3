package org.sft4j.train;

import ai.djl.Device;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sft4j.batch.Batch;
import org.sft4j.batch.Batcher;
import org.sft4j.data.TokenizedSet;
import org.sft4j.model.Decoder;
import org.sft4j.model.Parameter;
import org.sft4j.nd.StepScope;
import org.sft4j.nd.Tensors;
import org.sft4j.testing.Numerics;
import org.sft4j.testing.Shared;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** fp16's loss scaling: GradScaler's update rule, unscaling before clipping, and the scale kept in checkpoints. */
class LossScalerTest {

    @Test
    void overflowHalvesTheScaleAndSkipsTheStep() {
        LossScaler s = new LossScaler();
        assertEquals(65536, s.scale());
        assertFalse(s.update(false));
        assertEquals(32768, s.scale());
        assertTrue(s.update(true));
        assertEquals(32768, s.scale());
        assertEquals(1, s.cleanSteps());
        assertFalse(s.update(false));
        assertEquals(16384, s.scale());
        assertEquals(0, s.cleanSteps(), "an overflow restarts the count of clean steps");
    }

    @Test
    void twoThousandCleanStepsDoubleTheScale() {
        LossScaler s = new LossScaler(1024, 0);
        for (int i = 0; i < 1999; i++) {
            assertTrue(s.update(true));
        }
        assertEquals(1024, s.scale(), "unchanged after 1999 clean steps");
        assertTrue(s.update(true));
        assertEquals(2048, s.scale());
        assertEquals(0, s.cleanSteps());
        LossScaler resumed = new LossScaler(2048, 1999);
        resumed.update(true);
        assertEquals(4096, resumed.scale(), "a resumed count carries on");
        assertThrows(IllegalArgumentException.class, () -> new LossScaler(0, 0));
    }

    @Test
    void gradientsOfAScaledLossUnscaleToTheSameNormAndValues() throws Exception {
        TokenizedSet data = TrainFixtures.random(4, 6, 30, 3, 7);
        try (Decoder model = Decoder.load(Shared.fixtures("models/llama"), Device.cpu())) {
            List<Parameter> params = model.trainableParameters();
            Batcher batcher = new Batcher(data, 4, null, false, 0, false);
            Batch batch = batcher.materialize(batcher.epochPlan(0).get(0));
            double plainNorm = gradients(model, batch, 1.0 / batch.supervised(), 1);
            List<float[]> plain = grads(params);
            zero(params);
            double scale = 65536;
            double unscaledNorm = gradients(model, batch, scale / batch.supervised(), scale);
            assertEquals(plainNorm, unscaledNorm, 1e-5 * plainNorm, "the norm is taken after unscaling");
            List<float[]> unscaled = grads(params);
            for (int i = 0; i < plain.size(); i++) {
                double err = Numerics.relError(unscaled.get(i), plain.get(i));
                assertTrue(err < 1e-5, "gradient " + i + " differs by " + err);
            }
            zero(params);
        }
    }

    @Test
    void theScaleIsCheckpointedAndOldCheckpointsHaveNone(@TempDir Path tmp) throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("checkpoint-3"));
        Files.writeString(dir.resolve("trainer_state.json"), "{\"formatVersion\":1,\"step\":3,\"epoch\":0,\"batchInEpoch\":3,"
                + "\"adamStep\":3,\"bestValLoss\":\"NaN\",\"seed\":1,\"finetuningType\":\"full\",\"sft4jVersion\":\"0.1.0\"}");
        TrainState old = Checkpointer.readState(dir);
        assertNull(old.lossScale());
        assertNull(old.lossScaleCleanSteps());
        TrainState fp16 = new TrainState(1, 3, 0, 3, 3, Double.NaN, 1, "full", "0.1.0", 32768.0, 17);
        Files.writeString(dir.resolve("trainer_state.json"), new com.fasterxml.jackson.databind.ObjectMapper().writeValueAsString(fp16));
        TrainState back = Checkpointer.readState(dir);
        assertEquals(32768.0, back.lossScale());
        assertEquals(17, back.lossScaleCleanSteps());
        assertEquals(32768.0, LossScaler.resumedFrom(back).scale());
        assertEquals(17, LossScaler.resumedFrom(back).cleanSteps());
        assertEquals(LossScaler.INITIAL_SCALE, LossScaler.resumedFrom(old).scale(), "no saved scale: a fresh one");
        assertEquals(LossScaler.INITIAL_SCALE, LossScaler.resumedFrom(null).scale());
    }

    @Test
    void anOverflowingStepIsSkippedAndTheHalvedScaleIsCheckpointed(@TempDir Path tmp) throws Exception {
        TokenizedSet data = TrainFixtures.random(16, 6, 30, 3, 7);
        double huge = Math.scalb(1.0, 127);   // times any sizeable gradient: beyond fp32's range
        try (Decoder model = Decoder.load(Shared.fixtures("models/llama"), Device.cpu())) {
            List<float[]> before = weights(model);
            TrainFixtures.Recorder r = new TrainFixtures.Recorder();
            TrainResult result = trainScaled(model, data, tmp.resolve("one"), 1, new LossScaler(huge, 0), r);
            assertEquals(TrainResult.Status.COMPLETED, result.status(), result.message());
            assertFalse(Double.isFinite(r.steps.get(0).gradNorm()), "the step overflowed");
            assertTrue(Double.isFinite(r.steps.get(0).loss()), "the loss itself is finite");
            List<float[]> after = weights(model);
            for (int i = 0; i < before.size(); i++) {
                assertTrue(java.util.Arrays.equals(before.get(i), after.get(i)), "weight " + i + " was not updated");
            }
            TrainState saved = Checkpointer.readState(result.checkpoints().get(result.checkpoints().size() - 1));
            assertEquals(huge / 2, saved.lossScale(), "halved, and saved for a resumed run");
            assertEquals(1, saved.step(), "the skipped step still counts: its batch is spent");
        }
        try (Decoder model = Decoder.load(Shared.fixtures("models/llama"), Device.cpu())) {
            List<float[]> before = weights(model);
            TrainFixtures.Recorder r = new TrainFixtures.Recorder();
            LossScaler scaler = new LossScaler(huge, 0);
            assertEquals(TrainResult.Status.COMPLETED, trainScaled(model, data, tmp.resolve("many"), 12, scaler, r).status());
            long skipped = r.steps.stream().filter(s -> !Double.isFinite(s.gradNorm())).count();
            assertTrue(skipped >= 1 && skipped < 12, skipped + " steps overflowed");
            assertEquals(huge / Math.scalb(1.0, (int) skipped), scaler.scale(), "halved once per overflow");
            assertTrue(Double.isFinite(r.steps.get(11).gradNorm()), "training went on once the scale fit");
            assertTrue(Numerics.relError(weights(model).get(0), before.get(0)) > 0, "later steps were applied");
        }
    }

    /** Trains with the given loss scaler on the fp32 path (constant learning rate, 4 rows per step). */
    private static TrainResult trainScaled(Decoder model, TokenizedSet data, Path out, int steps, LossScaler scaler,
                                           TrainFixtures.Recorder recorder) throws Exception {
        try (Trainer t = TrainSetup.trainer(TrainFixtures.args(out, java.util.Map.of("learning_rate", 1e-3, "max_steps", steps,
                "per_device_train_batch_size", 4, "lr_scheduler_type", "constant")), model, TrainData.of(data),
                ModelSource.named("llama"), ResumePoint.none(), List.of(recorder), scaler)) {
            return t.fit();
        }
    }

    private static List<float[]> weights(Decoder model) {
        List<float[]> out = new ArrayList<>();
        for (Parameter p : model.baseParameters()) {
            out.add(Tensors.toFloats(p.array()));
        }
        return out;
    }

    private static double gradients(Decoder model, Batch batch, double scale, double lossScale) {
        try (StepScope s = StepScope.open(model.manager())) {
            new LossStep(model, 8).forwardBackward(batch, scale, s);
        }
        return GradientClipping.clip(model.compute(), model.trainableParameters(), 0, lossScale);
    }

    private static List<float[]> grads(List<Parameter> params) {
        List<float[]> out = new ArrayList<>();
        for (Parameter p : params) {
            out.add(Tensors.toFloats(Tensors.gradOrNull(p.array())));
        }
        return out;
    }

    private static void zero(List<Parameter> params) {
        params.forEach(p -> Tensors.zeroGrad(p.array()));
    }
}
