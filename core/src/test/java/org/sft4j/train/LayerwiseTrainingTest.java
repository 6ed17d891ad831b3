package org.sft4j.train;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sft4j.batch.Batch;
import org.sft4j.batch.Batcher;
import org.sft4j.data.TokenizedSet;
import org.sft4j.model.Decoder;
import org.sft4j.model.ModelConfig;
import org.sft4j.model.ModelInputs;
import org.sft4j.model.Parameter;
import org.sft4j.model.lora.LoraConfig;
import org.sft4j.nd.Compute;
import org.sft4j.nd.DeviceMemory;
import org.sft4j.nd.NativeOps;
import org.sft4j.nd.Precision;
import org.sft4j.nd.StepScope;
import org.sft4j.nd.Tensors;
import org.sft4j.testing.Numerics;
import org.sft4j.testing.Shared;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Training one decoder layer at a time: the segmented backward gives the gradients of one whole autograd graph, and
 * activation checkpointing (recomputing each layer in backward) gives the same losses, gradients and weights while
 * keeping only the layers' inputs.
 */
class LayerwiseTrainingTest {

    private static Decoder fixture() throws Exception {
        return Decoder.load(Shared.fixtures("models/llama"), Device.cpu());
    }

    private static Batch fixtureBatch() throws Exception {
        Batcher b = new Batcher(TrainFixtures.fixtureBatch(), 3, null, false, 0, false);
        return b.materialize(b.epochPlan(0).get(0));
    }

    private static List<float[]> gradients(Decoder model) {
        List<float[]> out = new ArrayList<>();
        for (Parameter p : model.trainableParameters()) {
            out.add(Tensors.toFloats(Tensors.gradOrNull(p.array())));
        }
        return out;
    }

    @Test
    void layerByLayerBackwardGivesTheGradientsOfTheWholeGraph() throws Exception {
        Batch batch = fixtureBatch();
        long supervised = CausalLmLoss.Targets.of(batch.labels()).count();
        try (Decoder model = fixture()) {
            List<float[]> whole;
            double wholeLoss;
            try (StepScope s = StepScope.open(model.manager())) {
                boolean was = Tensors.gradMode(true);
                NDArray hidden = model.forward(ModelInputs.of(batch), s.manager(), null, true);
                NDArray loss = CausalLmLoss.mean(hidden, batch.labels(), model.head(), 8, s.manager());
                wholeLoss = Tensors.scalar(loss);
                Tensors.backward(loss, s.manager().ones(loss.getShape()), false);
                Tensors.gradMode(was);
                whole = gradients(model);
            }
            model.trainableParameters().forEach(p -> Tensors.zeroGrad(p.array()));
            // none, the first of the two layers (gradient_checkpointing_layers: 1), both
            for (int checkpointing : new int[] {0, 1, 2}) {
                double sum;
                try (StepScope s = StepScope.open(model.manager())) {
                    sum = new LossStep(model, 8, checkpointing).forwardBackward(batch, 1.0 / supervised, s);
                }
                assertEquals(wholeLoss, sum / supervised, 1e-6 * wholeLoss, "loss, checkpointed layers " + checkpointing);
                List<float[]> layered = gradients(model);
                List<Parameter> ps = model.trainableParameters();
                assertEquals(21, ps.size(), "every weight of the 2-layer fixture trains, embedding included");
                for (int i = 0; i < ps.size(); i++) {
                    double err = Numerics.relError(layered.get(i), whole.get(i));
                    assertTrue(err < 1e-5, ps.get(i).name() + " (checkpointed layers " + checkpointing + ") differs by " + err);
                }
                model.trainableParameters().forEach(p -> Tensors.zeroGrad(p.array()));
            }
        }
    }

    /**
     * Losses of every step and the final weights of a short run, with or without activation checkpointing
     * ({@code checkpointedLayers}: null for all of them).
     */
    private static List<float[]> train(Path out, boolean checkpointing, Integer checkpointedLayers, boolean lora)
            throws Exception {
        Map<String, Object> kv = new HashMap<>(Map.of("learning_rate", 2e-3, "max_steps", 4, "per_device_train_batch_size", 2,
                "gradient_accumulation_steps", 2, "lr_scheduler_type", "constant", "gradient_checkpointing", checkpointing));
        if (checkpointedLayers != null) {
            kv.put("gradient_checkpointing_layers", checkpointedLayers);
        }
        TokenizedSet data = TrainFixtures.random(16, 6, 30, 3, 21);
        TrainFixtures.Recorder rec = new TrainFixtures.Recorder();
        try (Decoder model = fixture()) {
            if (lora) {
                // dropout: a recomputed layer must draw the masks its forward drew
                model.addLora(new LoraConfig(4, 8, 0.1, List.of("all")), 7);
            }
            TrainFixtures.fit(TrainFixtures.args(out, kv), model, data, List.of(rec));
            List<float[]> result = new ArrayList<>();
            result.add(toFloats(rec.steps.stream().mapToDouble(StepLog::loss).toArray()));
            for (Parameter p : lora ? model.loraParameters() : model.baseParameters()) {
                result.add(Tensors.toFloats(p.array()));
            }
            return result;
        }
    }

    private static float[] toFloats(double[] d) {
        float[] f = new float[d.length];
        for (int i = 0; i < d.length; i++) {
            f[i] = (float) d[i];
        }
        return f;
    }

    @Test
    void checkpointingTrainsExactlyAsKeepingActivations(@TempDir Path tmp) throws Exception {
        for (boolean lora : new boolean[] {false, true}) {
            List<float[]> plain = train(tmp.resolve("plain-" + lora), false, null, lora);
            assertEquals(4, plain.get(0).length, "four steps logged");
            // every layer checkpointed, and only the first (gradient_checkpointing_layers: 1)
            for (Integer layers : new Integer[] {null, 1}) {
                List<float[]> ckpt = train(tmp.resolve("ckpt-" + layers + "-" + lora), true, layers, lora);
                String what = (lora ? "LoRA" : "full") + ", checkpointed layers " + (layers == null ? "all" : layers);
                for (int s = 0; s < 4; s++) {
                    assertEquals(plain.get(0)[s], ckpt.get(0)[s], 1e-5 * plain.get(0)[s], what + ": loss of step " + (s + 1));
                }
                for (int i = 1; i < plain.size(); i++) {
                    double err = Numerics.relError(ckpt.get(i), plain.get(i));
                    assertTrue(err < 1e-5, what + ": weight " + i + " differs by " + err);
                }
            }
        }
    }

    /** What a pass keeps while its head runs: counted when the backward of the last layer is about to start. */
    private static final class Census implements LayerHooks {
        final NDManager scope;
        final Shape activation;
        final int layers;
        int activations = -1;
        long otherBytes = -1;

        Census(NDManager scope, Shape activation, int layers) {
            this.scope = scope;
            this.activation = activation;
            this.layers = layers;
        }

        @Override
        public void beforeBackward(int part) {
            if (part == layers) {
                activations = (int) scope.getManagedArrays().stream().filter(a -> a.getShape().equals(activation)).count();
                otherBytes = scope.getManagedArrays().stream().filter(a -> !a.getShape().equals(activation))
                        .mapToLong(a -> a.size() * 4).sum();
            }
        }
    }

    /** B rows of T tokens below 503, every token supervised. */
    private static Batch fullBatch(int b, int t) {
        long[][] ids = new long[b][t];
        long[][] labels = new long[b][t];
        int[][] mask = new int[b][t];
        long[][] pos = new long[b][t];
        for (int i = 0; i < b; i++) {
            for (int j = 0; j < t; j++) {
                ids[i][j] = 3 + (i * 31 + j * 7) % 500;
                labels[i][j] = ids[i][j];
                mask[i][j] = 1;
                pos[i][j] = j;
            }
        }
        return new Batch(ids, labels, mask, pos, null, b * t, b * (t - 1));
    }

    @Test
    void checkpointingKeepsOnlyEachLayersInput() throws Exception {
        int b = 4;
        int t = 128;
        Batch batch = fullBatch(b, t);
        Map<Integer, Census> seen = new HashMap<>();
        try (Decoder model = fixture()) {
            int layers = model.numLayers();
            for (int checkpointed : new int[] {layers, 1, 0}) {
                try (StepScope s = StepScope.open(model.manager())) {
                    Census census = new Census(s.manager(), new Shape(b, t, 64), layers);
                    new LossStep(model, 256, checkpointed, census).forwardBackward(batch, 1e-3, s);
                    seen.put(checkpointed, census);
                }
                model.trainableParameters().forEach(p -> Tensors.zeroGrad(p.array()));
            }
            // the embedding output, one input per layer and the last output (a leaf each), and the gradient arriving
            // at the last layer: L + 3 arrays; the forward of every layer but the last ran without a graph. The last
            // keeps its output with its graph: its backward comes now, where a recompute would rebuild the same
            assertEquals(layers + 4, seen.get(layers).activations, "checkpointed: the layer inputs, the last output");
            // besides, all keep the same: token ids, rotary tables, the attention mask
            assertEquals(seen.get(0).otherBytes, seen.get(layers).otherBytes, "what every pass keeps");
            // without checkpointing each layer's output is kept too, with its graph (what backward needs)
            assertEquals(2 * layers + 3, seen.get(0).activations, "not checkpointed: inputs and outputs");
            // only the first layer checkpointed: the others keep their outputs (of two layers, as when all are)
            assertEquals(layers + 3 + (layers - 1), seen.get(1).activations, "first layer checkpointed");
        }
    }

    /**
     * In bytes (native extension only: {@link DeviceMemory} counts the CPU's tensors): checkpointing every layer of an
     * 8-layer model keeps its step's peak of new memory to the layer inputs and one or two layers' activations, where
     * keeping every layer's activations holds all eight.
     */
    @Test
    void checkpointingEveryLayerCutsTheStepsPeakMemory() throws Exception {
        assumeTrue(NativeOps.available(), "needs the native extension");
        Device cpu = Device.cpu();
        assumeTrue(DeviceMemory.count(cpu), "libtorch's CPU allocator can be counted");
        ObjectNode n = (ObjectNode) new ObjectMapper().readTree(Shared.fixtures("models/llama/config.json").toFile());
        n.put("hidden_size", 256).put("intermediate_size", 1024).put("head_dim", 32).put("num_attention_heads", 8)
                .put("num_key_value_heads", 4).put("num_hidden_layers", 8);
        Batch batch = fullBatch(4, 128);
        try (Decoder model = Decoder.randomInit(ModelConfig.fromJson(n), 1, cpu, Compute.fused(Precision.FP32))) {
            stepPeak(model, batch, 0);   // the first backward allocates the gradients, kept (zeroed) from then on
            long kept = stepPeak(model, batch, 0);
            long checkpointed = stepPeak(model, batch, 8);
            long oneLayerKept = stepPeak(model, batch, 7) - checkpointed;   // 7 of 8: what one more layer keeps
            assertTrue(kept > 3 * checkpointed, "keeping every layer: " + kept + " B, checkpointing: " + checkpointed);
            assertEquals(0, oneLayerKept, "the last layer is never recomputed: 7 of 8 checkpointed is every layer");
        }
    }

    /** New CPU tensor bytes at the peak of one step of {@code checkpointed} layers; the gradients are zeroed after. */
    private static long stepPeak(Decoder model, Batch batch, int checkpointed) {
        Device cpu = Device.cpu();
        long peak;
        try (StepScope s = StepScope.open(model.manager())) {
            long held = DeviceMemory.stats(cpu)[0];
            DeviceMemory.resetPeak(cpu);
            new LossStep(model, 256, checkpointed).forwardBackward(batch, 1e-3, s);
            peak = DeviceMemory.stats(cpu)[1] - held;
        }
        model.trainableParameters().forEach(p -> Tensors.zeroGrad(p.array()));
        return peak;
    }
}
