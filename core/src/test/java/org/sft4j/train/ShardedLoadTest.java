package org.sft4j.train;

import ai.djl.Device;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sft4j.model.Decoder;
import org.sft4j.model.ModelInputs;
import org.sft4j.model.Parameter;
import org.sft4j.model.lora.LoraConfig;
import org.sft4j.nd.Precision;
import org.sft4j.nd.ProcessGroup;
import org.sft4j.testing.Shared;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A model loaded to be sharded ({@link Decoder#loadToShard}): each rank reads only the slices of the checkpoint it
 * keeps, and the run is the run of a model loaded whole.
 */
class ShardedLoadTest {

    private static final Path LLAMA = Shared.fixtures("models/llama");

    @Test
    void beforeShardingTheWeightsHoldNoMemoryAndCannotBeComputedWith() throws Exception {
        try (Decoder pending = ZeroShardingTest.model(null, Precision.FP32, true);
             Decoder whole = Decoder.load(LLAMA, Device.cpu())) {
            List<Parameter> a = pending.baseParameters();
            List<Parameter> b = whole.baseParameters();
            assertEquals(b.size(), a.size());
            for (int i = 0; i < a.size(); i++) {
                assertEquals(b.get(i).array().getShape(), a.get(i).array().getShape(), a.get(i).name());
                assertEquals(b.get(i).array().getDataType(), a.get(i).array().getDataType(), a.get(i).name());
                assertTrue(pending.pendingWeights().orElseThrow().holds(a.get(i)), a.get(i).name());
            }
            ModelInputs in = ModelInputs.of(new long[][] {{1, 2, 3}});
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> pending.embed(in, pending.manager()));
            assertTrue(e.getMessage().contains("not read yet"), e.getMessage());
        }
    }

    /** Three ranks (the layers' lengths are not multiples of 3: slices start and end inside tensors, the last padded). */
    @Test
    void eachRankReadsExactlyItsSliceOfEveryTensor() throws Exception {
        assertRanksReadTheirSlices(3, Precision.FP32, null);
    }

    /** A LoRA base under bf16-mixed: its frozen projections read from fp32 files straight into bf16 slices. */
    @Test
    void aFrozenBaseIsReadIntoBf16Slices() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(org.sft4j.nd.NativeOps.available(), "bf16 needs the native extension");
        assertRanksReadTheirSlices(2, Precision.BF16_MIXED, new LoraConfig(4, 8, 0.0, List.of("all")));
    }

    /**
     * Each of {@code world} ranks, the model loaded to shard at {@code precision} (with {@code lora}'s adapters), holds
     * in its master shards exactly its slices of the model loaded whole the same way, zeros in the padding, and
     * gathers the whole model's working weights.
     */
    private static void assertRanksReadTheirSlices(int world, Precision precision, LoraConfig lora) throws Exception {
        Map<String, float[]> expected = new HashMap<>();
        try (Decoder whole = Decoder.load(LLAMA, Device.cpu(), org.sft4j.nd.Compute.forPrecision(precision),
                lora != null)) {
            whole.baseParameters().forEach(p -> expected.put(p.name(), floats(p.array())));
        }
        List<ProcessGroup> groups = InProcessGroup.ranks(world);
        ExecutorService pool = Executors.newFixedThreadPool(world);
        try {
            List<Future<Long>> ranks = new ArrayList<>();
            for (int r = 0; r < world; r++) {
                ProcessGroup g = groups.get(r);
                ranks.add(pool.submit(() -> {
                    try (Decoder m = ZeroShardingTest.model(lora, precision, true);
                         Zero zero = Zero.shard(3, g, m, false, 0, () -> false)) {
                        assertTrue(m.pendingWeights().isEmpty(), "the files are closed once every slice is read");
                        long read = 0;
                        for (ShardGroup sg : zero.sharded().groups()) {
                            float[] master = floats(sg.master());
                            long pieces = 0;
                            for (ShardGroup.Piece piece : sg.pieces()) {
                                float[] all = expected.get(piece.param().name());
                                if (all == null) {
                                    continue;   // an adapter: made on the ranks, not read
                                }
                                float[] want = Arrays.copyOfRange(all, (int) piece.inParam(),
                                        (int) (piece.inParam() + piece.count()));
                                float[] got = Arrays.copyOfRange(master, (int) piece.inShard(),
                                        (int) (piece.inShard() + piece.count()));
                                assertArrayEquals(want, got, 0f, "rank " + g.rank() + ", " + piece.param().name()
                                        + " from element " + piece.inParam());
                                read += piece.count();
                            }
                            for (ShardGroup.Piece piece : sg.pieces()) {
                                pieces += piece.count();
                            }
                            for (long k = pieces; k < sg.shard(); k++) {
                                assertEquals(0f, master[(int) k], "padding past the last tensor is zero");
                            }
                        }
                        zero.beforeForward(1);   // the gathered working weights are the checkpoint's, on every rank
                        for (Parameter p : m.layerParameters(0)) {
                            if (expected.containsKey(p.name())) {
                                boolean bf16 = org.sft4j.nd.DataTypes.of(p.array()) == ai.djl.ndarray.types.DataType.BFLOAT16;
                                float[] want = expected.get(p.name()).clone();
                                for (int k = 0; bf16 && k < want.length; k++) {
                                    want[k] = bf16(want[k]);   // bf16-mixed computes from a bf16 working copy
                                }
                                assertArrayEquals(want, floats(p.array()), 0f, p.name());
                            }
                        }
                        return read;
                    }
                }));
            }
            long total = 0;
            for (Future<Long> f : ranks) {
                total += f.get(5, TimeUnit.MINUTES);
            }
            assertEquals(expected.values().stream().mapToLong(v -> v.length).sum(), total,
                    "the ranks' slices cover every element once");
        } finally {
            pool.shutdownNow();
        }
    }

    /** {@code x} rounded to the nearest bf16 (ties to even), as a cast rounds it. */
    private static float bf16(float x) {
        int bits = Float.floatToRawIntBits(x);
        return Float.intBitsToFloat((bits + 0x7FFF + ((bits >>> 16) & 1)) & 0xFFFF0000);
    }

    /** Any float array's values as fp32 (bf16 widens exactly). */
    private static float[] floats(ai.djl.ndarray.NDArray a) {
        if (org.sft4j.nd.DataTypes.of(a) == ai.djl.ndarray.types.DataType.FLOAT32) {
            return a.toFloatArray();
        }
        try (ai.djl.ndarray.NDArray f = org.sft4j.nd.DataTypes.cast(a, ai.djl.ndarray.types.DataType.FLOAT32)) {
            return f.toFloatArray();
        }
    }

    @Test
    void stagesOneTwoAndThreeLoadedToShardTrainAsAModelLoadedWhole(@TempDir Path tmp) throws Exception {
        for (int stage = 1; stage <= 3; stage++) {
            Map<String, Object> kv = ZeroShardingTest.job(2, 2, 6);
            kv.put("zero_stage", stage);
            kv.put("save_steps", 3);
            ZeroShardingTest.Run whole = ZeroShardingTest.sharded(tmp.resolve("whole" + stage), kv, null, 2);
            ZeroShardingTest.Run slices = ZeroShardingTest.sharded(tmp.resolve("slices" + stage), kv, null, 2, null,
                    true);
            assertArrayEquals(whole.losses(), slices.losses(), 0.0, "ZeRO-" + stage + ": the same losses, bit for bit");
            if (stage == 3) {   // a sharded checkpoint resumed by ranks that read their slices of it
                Path three = tmp.resolve("slices3/checkpoint-3");
                ZeroShardingTest.Run resumed = ZeroShardingTest.sharded(tmp.resolve("resumed"), kv, null, 2, three, true);
                assertArrayEquals(Arrays.copyOfRange(slices.losses(), 3, 6), resumed.losses(), 1e-6 * slices.losses()[5],
                        "steps 4 to 6 resumed");
            }
        }
    }

    @Test
    void loraOverAFrozenBaseLoadedToShard(@TempDir Path tmp) throws Exception {
        LoraConfig lora = new LoraConfig(4, 8, 0.0, List.of("all"));
        Map<String, Object> kv = ZeroShardingTest.job(2, 2, 4);
        kv.put("zero_stage", 3);
        kv.put("gradient_checkpointing", true);
        ZeroShardingTest.Run whole = ZeroShardingTest.sharded(tmp.resolve("whole"), kv, lora, 2);
        ZeroShardingTest.Run slices = ZeroShardingTest.sharded(tmp.resolve("slices"), kv, lora, 2, null, true);
        assertArrayEquals(whole.losses(), slices.losses(), 0.0, "the same losses, bit for bit");
    }
}
