package org.sft4j.train;

import ai.djl.Device;
import org.sft4j.nd.StepScope;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sft4j.batch.Batch;
import org.sft4j.batch.Batcher;
import org.sft4j.data.TokenizedSet;
import org.sft4j.model.Decoder;
import org.sft4j.model.Parameter;
import org.sft4j.nd.Tensors;
import org.sft4j.testing.Numerics;
import org.sft4j.testing.Shared;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TrainingEquivalenceTest {

    private static float[][] trainOneStep(Path out, int batch, int accum, TokenizedSet data) throws Exception {
        try (Decoder model = Decoder.load(Shared.fixtures("models/llama"), Device.cpu())) {
            TrainFixtures.Recorder r = new TrainFixtures.Recorder();
            TrainFixtures.fit(TrainFixtures.args(out, Map.of("learning_rate", 1e-3, "max_steps", 1, "per_device_train_batch_size",
                    batch, "gradient_accumulation_steps", accum, "lr_scheduler_type", "constant")), model, data, List.of(r));
            List<Parameter> ps = model.baseParameters();
            float[][] w = new float[ps.size() + 1][];
            for (int i = 0; i < ps.size(); i++) {
                w[i] = Tensors.toFloats(ps.get(i).array());
            }
            w[ps.size()] = new float[] {(float) r.steps.get(0).loss(), (float) r.steps.get(0).gradNorm()};
            return w;
        }
    }

    @Test
    void accumulationGivesTheGradientOfOneBigBatch(@TempDir Path tmp) throws Exception {
        // examples of very different lengths: a per-micro-batch mean would weight them wrongly
        TokenizedSet data = TrainFixtures.random(8, 6, 40, 4, 11);
        float[][] big = trainOneStep(tmp.resolve("a"), 8, 1, data);
        float[][] accumulated = trainOneStep(tmp.resolve("b"), 2, 4, data);
        int last = big.length - 1;
        assertEquals(big[last][0], accumulated[last][0], 1e-5 * big[last][0], "same loss");
        assertEquals(big[last][1], accumulated[last][1], 1e-4 * big[last][1], "same gradient norm");
        for (int i = 0; i < last; i++) {
            double err = Numerics.relError(accumulated[i], big[i]);
            assertTrue(err < 1e-5, "weight " + i + " differs by " + err);
        }
    }

    @Test
    void packedRowsGiveTheLossOfTheirSequencesAlone() throws Exception {
        TokenizedSet data = TrainFixtures.random(6, 5, 20, 2, 5);
        try (Decoder model = Decoder.load(Shared.fixtures("models/llama"), Device.cpu())) {
            LossStep loss = new LossStep(model, 16);
            double separate = 0;
            double count = 0;
            Batcher single = new Batcher(data, 1, null, false, 0, false);
            for (List<int[]> plan : single.epochPlan(0)) {
                try (StepScope s = StepScope.open(model.manager())) {
                    double[] r = loss.evaluate(single.materialize(plan), s);
                    separate += r[0];
                    count += r[1];
                }
            }
            Batcher packed = new Batcher(data, 2, 64, true, 0, false);
            double packedSum = 0;
            double packedCount = 0;
            int rows = 0;
            for (List<int[]> plan : packed.epochPlan(0)) {
                Batch b = packed.materialize(plan);
                rows += b.rows();
                assertTrue(b.segmentIds() != null);
                try (StepScope s = StepScope.open(model.manager())) {
                    double[] r = loss.evaluate(b, s);
                    packedSum += r[0];
                    packedCount += r[1];
                }
            }
            assertTrue(rows < 6, "several sequences share a row");
            assertEquals(count, packedCount, "the same supervised tokens");
            assertTrue(Numerics.relError(packedSum, separate) < 1e-5, "packed " + packedSum + " vs separate " + separate);
        }
    }

    @Test
    void scheduleMatchesTransformersFormulas() {
        LrSchedule cos = new LrSchedule("cosine", 1e-3, 2, 5);
        assertEquals(0.0, cos.lrAt(0));
        assertEquals(5e-4, cos.lrAt(1), 1e-15);
        assertEquals(1e-3, cos.lrAt(2), 1e-15);
        assertEquals(7.5e-4, cos.lrAt(3), 1e-12);
        LrSchedule lin = new LrSchedule("linear", 1.0, 0, 4);
        assertEquals(0.75, lin.lrAt(1), 1e-12);
        assertEquals(3, LrSchedule.warmupSteps(0, 0.1, 21), "ceil(0.1 * 21)");
    }
}
