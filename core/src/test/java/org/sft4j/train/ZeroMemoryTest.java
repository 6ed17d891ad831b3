package org.sft4j.train;

import ai.djl.Device;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;
import org.sft4j.batch.Batch;
import org.sft4j.batch.Batcher;
import org.sft4j.model.Decoder;
import org.sft4j.model.ModelConfig;
import org.sft4j.nd.Distributed;
import org.sft4j.nd.FlatBuffers;
import org.sft4j.nd.StepScope;

import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * ZeRO-3's memory over a real process group: a layer's gathered weights exist from just before its forward (the next
 * one prefetched meanwhile) to just after, and again around its backward; after a pass nothing gathered is left.
 */
class ZeroMemoryTest {

    /** Which parts hold gathered memory after each hook call. */
    private static final class Census implements LayerHooks {
        final Zero zero;
        final List<String> log = new ArrayList<>();

        Census(Zero zero) {
            this.zero = zero;
        }

        TreeSet<Integer> resident() {
            TreeSet<Integer> parts = new TreeSet<>();
            for (int i = 0; i < zero.sharded().parts(); i++) {
                if (zero.sharded().groups(i).stream().anyMatch(g -> FlatBuffers.storageBytes(g.work()) > 0)) {
                    parts.add(i);
                }
            }
            return parts;
        }

        private void note(String phase, int part) {
            log.add(phase + " " + part + " " + resident());
        }

        @Override
        public void beforeForward(int part) {
            zero.beforeForward(part);
            note("beforeForward", part);
        }

        @Override
        public void afterForward(int part) {
            zero.afterForward(part);
            note("afterForward", part);
        }

        @Override
        public void beforeBackward(int part) {
            zero.beforeBackward(part);
            note("beforeBackward", part);
        }

        @Override
        public void afterBackward(int part) {
            zero.afterBackward(part);
            note("afterBackward", part);
        }
    }

    /** A Llama of width 32 with {@code layers} decoder layers. */
    private static ModelConfig tinyLlama(int layers) {
        ObjectNode c = new ObjectMapper().createObjectNode();
        c.put("model_type", "llama").put("vocab_size", 512).put("hidden_size", 32).put("intermediate_size", 64)
                .put("num_hidden_layers", layers).put("num_attention_heads", 2).put("num_key_value_heads", 1)
                .put("rms_norm_eps", 1e-5).put("max_position_embeddings", 128);
        return ModelConfig.fromJson(c);
    }

    /** The first batch of four random examples. */
    private static Batch oneBatch() {
        Batcher b = new Batcher(TrainFixtures.random(4, 10, 20, 2, 3), 4, null, false, 0, false);
        return b.materialize(b.epochPlan(0).get(0));
    }

    @Test
    void zeroThreeHoldsALayerOnlyAroundItsForwardAndBackward() throws Exception {
        assumeTrue(Distributed.available(), "needs the native extension's process groups (Gloo on CPU)");
        Batch batch = oneBatch();
        try (Decoder model = Decoder.randomInit(tinyLlama(4), 0, Device.cpu());
             Zero zero = Zero.shard(3, Distributed.join("127.0.0.1", 29731, 0, 1, Device.cpu()), model, false, 0, () -> false)) {
            assertEquals(List.of(0), List.copyOf(new Census(zero).resident()),
                    "sharded: only the part the first pass needs first is being gathered");
            Census census = new Census(zero);
            try (StepScope s = StepScope.open(model.manager())) {
                new LossStep(model, 64, model.numLayers(), census).forwardBackward(batch, 0.01, s);
            }
            zero.finishGradients();
            assertEquals(List.of(
                    "beforeForward 0 [0, 1]",         // the outer part, layer 0 prefetched
                    "beforeForward 1 [0, 1, 2]",      // layer 0 computes, layer 1 comes
                    "afterForward 1 [0, 2]",
                    "beforeForward 2 [0, 2, 3]",
                    "afterForward 2 [0, 3]",
                    "beforeForward 3 [0, 3, 4]",
                    "afterForward 3 [0, 4]",
                    "beforeForward 4 [0, 4]",
                    "afterForward 4 [0, 4]",          // the last layer stays: its backward is next
                    "beforeBackward 4 [0, 3, 4]",     // layer 2 prefetched for the next backward
                    "afterBackward 4 [0, 3]",
                    "beforeBackward 3 [0, 2, 3]",
                    "afterBackward 3 [0, 2]",
                    "beforeBackward 2 [0, 1, 2]",
                    "afterBackward 2 [0, 1]",
                    "beforeBackward 1 [0, 1]",
                    "afterBackward 1 [0]",
                    "beforeBackward 0 [0]",
                    "afterBackward 0 []"), census.log);
            long gradients = zero.sharded().groups().stream().filter(ShardGroup::trainable)
                    .filter(g -> org.sft4j.nd.Tensors.gradOrNull(g.master()) != null).count();
            assertTrue(gradients > 0, "the gradients reached the master shards");
        }
    }

    /**
     * After an update the master shards hold no gradients (zero_grad(set_to_none=True), as the unsharded run and
     * FSDP2's users do): the next forward runs without 4 bytes a trainable weight per rank of gradient memory, and the
     * next backward's sums become the gradients again.
     */
    @Test
    void noGradientMemoryIsHeldThroughTheNextForward() throws Exception {
        assumeTrue(Distributed.available(), "needs the native extension's process groups (Gloo on CPU)");
        Batch batch = oneBatch();
        org.sft4j.config.TrainArgs args = org.sft4j.config.SftConfig.of(java.util.Map.of("learning_rate", 1e-3)).train();
        try (Decoder model = Decoder.randomInit(tinyLlama(2), 0, Device.cpu());
             Zero zero = Zero.shard(3, Distributed.join("127.0.0.1", 29733, 0, 1, Device.cpu()), model, false, 0, () -> false);
             ShardedAdamW adamW = new ShardedAdamW(zero, args, model.compute(), model.manager())) {
            double[] losses = new double[2];
            for (int step = 0; step < 2; step++) {
                try (StepScope s = StepScope.open(model.manager())) {
                    losses[step] = new LossStep(model, 64, 0, zero).forwardBackward(batch, 0.01, s);
                }
                zero.finishGradients();
                assertTrue(zero.sharded().groups().stream().filter(ShardGroup::trainable)
                        .allMatch(g -> org.sft4j.nd.Tensors.gradOrNull(g.master()) != null), "step " + step + ": summed");
                adamW.clipGradients(1.0, 1);
                adamW.step(1e-3);
                adamW.zeroGradients();
                assertTrue(zero.sharded().groups().stream().filter(ShardGroup::trainable)
                        .allMatch(g -> org.sft4j.nd.Tensors.gradOrNull(g.master()) == null), "step " + step + ": freed");
            }
            assertTrue(losses[1] < losses[0], "the update applied: " + losses[0] + " then " + losses[1]);
        }
    }

    /**
     * Sharded bf16-mixed (DeepSpeed's and FSDP2's bf16): every parameter's working copy is bf16, half its fp32 master's
     * bytes per element, and a pass computes in bf16 from it.
     */
    @Test
    void aBf16WorkingCopyHoldsHalfTheMastersBytes() throws Exception {
        assumeTrue(Distributed.available(), "needs the native extension's process groups (Gloo on CPU)");
        Batch batch = oneBatch();
        try (Decoder model = Decoder.randomInit(tinyLlama(2), 0, Device.cpu(),
                org.sft4j.nd.Compute.forPrecision(org.sft4j.nd.Precision.BF16_MIXED));
             Zero zero = Zero.shard(3, Distributed.join("127.0.0.1", 29732, 0, 1, Device.cpu()), model, false, 0, () -> false)) {
            Decoder working = model.computingWith(org.sft4j.nd.Compute.forPrecision(org.sft4j.nd.Precision.BF16_TRUE));
            for (ShardGroup g : zero.sharded().groups()) {
                assertEquals(ai.djl.ndarray.types.DataType.FLOAT32, g.masterType(), g.name());
                assertEquals(ai.djl.ndarray.types.DataType.BFLOAT16, g.workType(), g.name());
            }
            zero.sharded().ensure(1);
            ShardGroup layer = zero.sharded().groups(1).get(0);
            assertEquals(2 * layer.shard(), FlatBuffers.storageBytes(layer.work()), "2 bytes an element, one rank");
            assertEquals(4 * layer.shard(), FlatBuffers.storageBytes(layer.master()));
            try (StepScope s = StepScope.open(model.manager())) {
                double loss = new LossStep(working, 64, 0, zero).forwardBackward(batch, 0.01, s);
                assertTrue(Double.isFinite(loss) && loss > 0, "a pass from the bf16 copy: " + loss);
            }
            zero.finishGradients();
            assertTrue(zero.sharded().groups().stream().filter(ShardGroup::trainable)
                    .allMatch(g -> org.sft4j.nd.Tensors.gradOrNull(g.master()) != null
                            && org.sft4j.nd.DataTypes.of(org.sft4j.nd.Tensors.gradOrNull(g.master()))
                            == ai.djl.ndarray.types.DataType.FLOAT32), "fp32 gradient sums reached every master shard");
        }
    }
}
