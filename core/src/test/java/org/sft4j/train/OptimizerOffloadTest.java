package org.sft4j.train;

import ai.djl.Device;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sft4j.model.Decoder;
import org.sft4j.model.lora.LoraConfig;
import org.sft4j.nd.NativeOps;
import org.sft4j.nd.Precision;
import org.sft4j.nd.ProcessGroup;
import org.sft4j.testing.Shared;
import org.sft4j.testing.Numerics;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * DeepSpeed's {@code offload_optimizer: {device: cpu}}: the master shards, their gradients and AdamW's moments live in
 * host memory and the device keeps working-type shards uploaded after each update. On this CPU the "host" and the
 * "device" are one, but the offloaded path still keeps its own buffers (a master copy, an uploaded slice), so a step
 * that forgot to upload or to bring the gradients over would train on stale weights or none.
 */
class OptimizerOffloadTest {

    private static Path offloadConfig(Path dir, int stage) throws Exception {
        return offloadConfig(dir, stage, 1);
    }

    private static Path offloadConfig(Path dir, int stage, double ratio) throws Exception {
        Files.createDirectories(dir);
        return Files.writeString(dir.resolve("ds_offload.json"), "{\"bf16\": {\"enabled\": \"auto\"}, "
                + "\"zero_optimization\": {\"stage\": " + stage + ", \"offload_optimizer\": {\"device\": \"cpu\", "
                + "\"pin_memory\": true, \"ratio\": " + ratio + "}}}");
    }

    /**
     * {@code offload_optimizer.ratio} (DeepSpeed's ZeRO-Offload++): the last parts' state offloaded, the first parts'
     * kept on the device and updated there. Two ranks train as one process, clipping norms included (the kept shards'
     * norm joins the squared norms taken as the offloaded sums left the device), and a checkpoint resumes, at that
     * ratio or another.
     */
    @Test
    void partlyOffloadedTrainsAsOneProcessAndResumes(@TempDir Path tmp) throws Exception {
        ZeroShardingTest.Run one = ZeroShardingTest.single(tmp.resolve("one"), ZeroShardingTest.job(4, 1, 6), null);
        for (int stage : new int[] {1, 2}) {
            Map<String, Object> kv = ZeroShardingTest.job(2, 1, 6);
            kv.put("deepspeed", offloadConfig(tmp.resolve("cfg" + stage), stage, 0.25).toString());
            ZeroShardingTest.assertSameRun(one, ZeroShardingTest.sharded(tmp.resolve("zero" + stage), kv, null, 2),
                    "ZeRO-" + stage + ", a quarter offloaded", false);
        }
        Map<String, Object> kv = ZeroShardingTest.job(2, 1, 6);
        kv.put("deepspeed", offloadConfig(tmp.resolve("cfg"), 3, 0.25).toString());
        kv.put("save_steps", 3);
        ZeroShardingTest.Run two = ZeroShardingTest.sharded(tmp.resolve("zero3"), kv, null, 2);
        for (int s = 0; s < 6; s++) {
            assertTrue(Numerics.relError(two.gradNorms()[s], one.gradNorms()[s]) < 1e-5, "norm of step " + (s + 1)
                    + ": " + two.gradNorms()[s] + " vs one process's " + one.gradNorms()[s]);
        }
        ZeroShardingTest.assertSameRun(one, two, "ZeRO-3, a quarter offloaded", false);
        Path three = tmp.resolve("zero3/checkpoint-3");
        for (double ratio : new double[] {0.25, 1}) {   // resumed as it ran, and with all of the state offloaded
            Map<String, Object> again = new HashMap<>(kv);
            again.put("deepspeed", offloadConfig(tmp.resolve("cfg-resumed" + ratio), 3, ratio).toString());
            ZeroShardingTest.Run resumed = ZeroShardingTest.sharded(tmp.resolve("resumed" + ratio), again, null, 2,
                    three);
            assertEquals(3, resumed.losses().length);
            for (int s = 0; s < 3; s++) {
                assertTrue(Numerics.relError(resumed.losses()[s], two.losses()[s + 3]) < 1e-6, "resumed at ratio "
                        + ratio + ", step " + (s + 4) + ": " + resumed.losses()[s] + " vs " + two.losses()[s + 3]);
            }
        }
    }

    /**
     * Which parts a ratio offloads: the fewest last parts holding that share of the trained parameters. The llama
     * fixture: the outer part 65,600 weights, each of its two layers 43,136.
     */
    @Test
    void aRatioOffloadsTheFewestLastPartsHoldingItsShare() throws Exception {
        for (double[] ratioFirst : new double[][] {{1, 0}, {0.5, 1}, {0.25, 2}, {0.01, 2}, {0, 3}}) {
            try (Decoder model = Decoder.load(Shared.fixtures("models/llama"), Device.cpu(), Precision.FP32);
                 Zero zero = Zero.shard(3, ProcessGroup.alone(), model, false, ratioFirst[0], () -> false)) {
                int first = (int) ratioFirst[1];
                assertEquals(first, ShardedModel.firstOffloadedPart(ShardedModel.partsOf(model), ratioFirst[0]),
                        "ratio " + ratioFirst[0]);
                for (int part = 0; part < 3; part++) {
                    assertEquals(part >= first, zero.sharded().partOffloaded(part),
                            "ratio " + ratioFirst[0] + ", part " + part);
                }
            }
        }
        try (Decoder model = Decoder.load(Shared.fixtures("models/llama"), Device.cpu(), Precision.FP32)) {
            assertEquals(43_136, TrainSetup.offloadedParameters(model, 0.25).stream().mapToLong(p -> p.array().size())
                    .sum(), "the host memory check counts the offloaded layer only");
        }
        try (Decoder model = Decoder.load(Shared.fixtures("models/llama"), Device.cpu(), Precision.FP32)) {
            model.addLora(new LoraConfig(4, 8, 0.0, List.of("all")), 5);
            assertEquals(1, ShardedModel.firstOffloadedPart(ShardedModel.partsOf(model), 1),
                    "LoRA: the outer part trains nothing and holds no state to offload");
            assertEquals(2, ShardedModel.firstOffloadedPart(ShardedModel.partsOf(model), 0.5),
                    "LoRA: half of the adapters are the last layer's");
        }
    }

    /** Offloaded ZeRO-1, 2 and 3 on two ranks train as one unsharded process; an offloaded checkpoint resumes. */
    @Test
    void offloadedStagesTrainAsOneProcessAndResume(@TempDir Path tmp) throws Exception {
        ZeroShardingTest.Run one = ZeroShardingTest.single(tmp.resolve("one"), ZeroShardingTest.job(4, 2, 6), null);
        for (int stage : new int[] {1, 2, 3}) {
            Map<String, Object> kv = ZeroShardingTest.job(2, 2, 6);
            kv.put("deepspeed", offloadConfig(tmp.resolve("cfg" + stage), stage).toString());
            kv.put("save_steps", 3);
            ZeroShardingTest.Run two = ZeroShardingTest.sharded(tmp.resolve("zero" + stage), kv, null, 2);
            ZeroShardingTest.assertSameRun(one, two, "ZeRO-" + stage + " offloaded", false);
            if (stage == 3) {
                Path three = tmp.resolve("zero3/checkpoint-3");
                assertTrue(Files.exists(three.resolve(OptimizerFiles.rankFile(1, 2))), "each rank wrote its moments");
                ZeroShardingTest.Run resumed = ZeroShardingTest.sharded(tmp.resolve("resumed"), kv, null, 2, three);
                double[] last = Arrays.copyOfRange(two.losses(), 3, 6);
                assertEquals(3, resumed.losses().length);
                for (int s = 0; s < 3; s++) {
                    assertTrue(Numerics.relError(resumed.losses()[s], last[s]) < 1e-6, "resumed step " + (s + 4) + ": "
                            + resumed.losses()[s] + " vs " + last[s]);
                }
            }
        }
    }

    /**
     * Without gradient accumulation each offloaded gradient's squared norm is taken on the device as it leaves, and
     * the clipping norm is made of those (no pass over host memory): the norms, losses and weights of one process.
     */
    @Test
    void clippingNormTakenOnTheDeviceIsOneProcesssNorm(@TempDir Path tmp) throws Exception {
        ZeroShardingTest.Run one = ZeroShardingTest.single(tmp.resolve("one"), ZeroShardingTest.job(4, 1, 6), null);
        Map<String, Object> kv = ZeroShardingTest.job(2, 1, 6);
        kv.put("deepspeed", offloadConfig(tmp.resolve("cfg"), 3).toString());
        ZeroShardingTest.Run two = ZeroShardingTest.sharded(tmp.resolve("zero3"), kv, null, 2);
        for (int s = 0; s < 6; s++) {
            assertTrue(one.gradNorms()[s] > 0.5, "clipping engages at step " + (s + 1) + ": " + one.gradNorms()[s]);
            assertTrue(Numerics.relError(two.gradNorms()[s], one.gradNorms()[s]) < 1e-5, "norm of step " + (s + 1)
                    + ": " + two.gradNorms()[s] + " vs one process's " + one.gradNorms()[s]);
        }
        ZeroShardingTest.assertSameRun(one, two, "ZeRO-3 offloaded, no accumulation", false);
    }

    /** LoRA: only the adapters' shards are offloaded (the frozen base keeps its shards on the device). */
    @Test
    void offloadedLoraWithCheckpointingTrainsAsOneProcess(@TempDir Path tmp) throws Exception {
        LoraConfig lora = new LoraConfig(4, 8, 0.0, List.of("all"));
        ZeroShardingTest.Run one = ZeroShardingTest.single(tmp.resolve("one"), ZeroShardingTest.job(4, 2, 6), lora);
        Map<String, Object> kv = ZeroShardingTest.job(2, 2, 6);
        kv.put("deepspeed", offloadConfig(tmp.resolve("cfg"), 3).toString());
        kv.put("gradient_checkpointing", true);
        ZeroShardingTest.assertSameRun(one, ZeroShardingTest.sharded(tmp.resolve("zero3"), kv, lora, 2),
                "ZeRO-3 LoRA offloaded, checkpointed", true);
    }

    /**
     * bf16-mixed (a bf16 working copy uploaded from offloaded fp32 masters) and bf16-true (bf16 masters and moments
     * offloaded, Kahan buffers too), all offloaded or a quarter: the losses of the run whose shards stay on the device.
     */
    @Test
    void bf16OffloadedTrainsAsTheShardsOnTheDevice(@TempDir Path tmp) throws Exception {
        assumeTrue(NativeOps.available(), "bf16 needs the native extension");
        for (String precision : new String[] {"bf16-mixed", "bf16-true"}) {
            Map<String, Object> kv = ZeroShardingTest.job(4, 2, 6);
            kv.put("precision", precision);
            kv.put("bf16_update", "kahan");
            kv.put("gradient_checkpointing", true);
            kv.put("zero_stage", 3);
            ZeroShardingTest.Run onDevice = ZeroShardingTest.single(tmp.resolve(precision + "-device"), kv, null);
            for (double ratio : new double[] {1, 0.25}) {
                Map<String, Object> off = new HashMap<>(kv);
                off.remove("zero_stage");
                off.put("deepspeed", offloadConfig(tmp.resolve(precision + "-cfg" + ratio), 3, ratio).toString());
                ZeroShardingTest.Run offloaded = ZeroShardingTest.single(tmp.resolve(precision + "-offloaded" + ratio),
                        off, null);
                assertEquals(6, offloaded.losses().length);
                for (int s = 0; s < 6; s++) {
                    assertEquals(onDevice.losses()[s], offloaded.losses()[s], 1e-7 * onDevice.losses()[s],
                            precision + ", ratio " + ratio + ", step " + (s + 1));
                }
            }
            assertTrue(onDevice.losses()[5] < onDevice.losses()[0] - 0.05, precision + " learns: "
                    + Arrays.toString(onDevice.losses()));
        }
    }

    /**
     * fp16-mixed: the gradients reach host memory still multiplied by the loss scale, so the clipping norm is taken
     * there after unscaling them (not from the squared norms taken on the device); offloaded, the run is the one whose
     * shards stay on the device, norms included.
     */
    @Test
    void fp16OffloadedUnscalesOnTheHostAndTrainsAsTheShardsOnTheDevice(@TempDir Path tmp) throws Exception {
        assumeTrue(NativeOps.available(), "fp16 needs the native extension");
        Map<String, Object> kv = ZeroShardingTest.job(4, 1, 6);
        kv.put("precision", "fp16-mixed");
        kv.put("zero_stage", 3);
        ZeroShardingTest.Run onDevice = ZeroShardingTest.single(tmp.resolve("device"), kv, null);
        Map<String, Object> off = new HashMap<>(kv);
        off.remove("zero_stage");
        off.put("deepspeed", offloadConfig(tmp.resolve("cfg"), 3).toString());
        ZeroShardingTest.Run offloaded = ZeroShardingTest.single(tmp.resolve("offloaded"), off, null);
        assertEquals(6, offloaded.losses().length);
        for (int s = 0; s < 6; s++) {
            assertEquals(onDevice.losses()[s], offloaded.losses()[s], 1e-7 * onDevice.losses()[s], "fp16 step " + (s + 1));
            assertEquals(onDevice.gradNorms()[s], offloaded.gradNorms()[s], 1e-6 * onDevice.gradNorms()[s],
                    "fp16 norm of step " + (s + 1));
        }
        Map<String, Object> plain = new HashMap<>(kv);
        plain.remove("zero_stage");
        ZeroShardingTest.Run unsharded = ZeroShardingTest.single(tmp.resolve("plain"), plain, null);
        for (int s = 0; s < 6; s++) {
            assertTrue(Numerics.relError(offloaded.losses()[s], unsharded.losses()[s]) < 1e-5, "fp16 step " + (s + 1)
                    + ": " + offloaded.losses()[s] + " vs the unsharded run's " + unsharded.losses()[s]);
        }
    }
}
