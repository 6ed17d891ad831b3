package org.sft4j.train;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import org.junit.jupiter.api.Test;
import org.sft4j.base.UserError;
import org.sft4j.model.Parameter;
import org.sft4j.nd.Bf16Update;
import org.sft4j.nd.DataTypes;
import org.sft4j.nd.Engines;
import org.sft4j.nd.NativeOps;
import org.sft4j.nd.ProcessGroup;

import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** The host memory an offloaded optimizer needs, refused in the user's words before the OOM killer would end the run. */
class OffloadMemoryTest {

    @Test
    void eachRankHoldsSixteenBytesATrainedFp32ParameterAndEightOrTenUnderBf16True() {
        try (NDManager m = Engines.newManager(Device.cpu())) {
            Parameter fp32 = new Parameter("w", m.zeros(new Shape(1000, 3), DataType.FLOAT32), true);
            assertEquals(48_000, OffloadMemory.bytesPerRank(List.of(fp32), Bf16Update.STOCHASTIC, 1));
            assertEquals(24_000, OffloadMemory.bytesPerRank(List.of(fp32), Bf16Update.STOCHASTIC, 2));
            assumeTrue(NativeOps.available(), "bf16 weights need the native extension");
            Parameter bf16 = new Parameter("b", DataTypes.empty(m, new Shape(1001), DataType.BFLOAT16), true);
            assertEquals(8_008, OffloadMemory.bytesPerRank(List.of(bf16), Bf16Update.STOCHASTIC, 1));
            assertEquals(3_337, OffloadMemory.bytesPerRank(List.of(bf16), Bf16Update.KAHAN, 3), "10 bytes, shared by 3");
        }
    }

    @Test
    void theRanksOfThisNodeComeFromTheLaunchersVariables() {
        assertEquals(4, OffloadMemory.ranksOnThisNode(Map.of("LOCAL_WORLD_SIZE", "4"), 8, 1));
        assertEquals(8, OffloadMemory.ranksOnThisNode(Map.of("SLURM_NTASKS_PER_NODE", "8"), 16, 1));
        assertEquals(2, OffloadMemory.ranksOnThisNode(Map.of("SLURM_NTASKS_PER_NODE", "8"), 2, 1), "no more than the run");
        assertEquals(3, OffloadMemory.ranksOnThisNode(Map.of("SLURM_NTASKS_PER_NODE", "2(x3)"), 6, 2), "spread evenly");
        assertEquals(1, OffloadMemory.ranksOnThisNode(Map.of(), 1, 1));
    }

    @Test
    void availableMemoryIsReadFromMeminfo() {
        String meminfo = "MemTotal:       131072000 kB\nMemFree:         2000000 kB\nMemAvailable:   126877696 kB\n";
        assertEquals(126_877_696L * 1024, OffloadMemory.available(meminfo).getAsLong());
        assertTrue(OffloadMemory.available("MemTotal: 1 kB\n").isEmpty());
    }

    @Test
    void aNodeWithoutTheMemoryIsRefusedWithWhatItNeedsAndWhatToDo() {
        long params = 7_615_616_512L;   // Qwen2.5-7B, fp32 masters, one GPU
        OffloadMemory.check(params * 16 / 2, 2, 130_000_000_000L, params, "deepspeed: ds_z3_offload_config.json");
        UserError e = assertThrows(UserError.class, () -> OffloadMemory.check(params * 16, 1, 115_000_000L * 1024, params,
                "deepspeed: ds_z3_offload_config.json"));
        assertEquals("deepspeed: ds_z3_offload_config.json: offload_optimizer needs about 121.8 GB of host memory on "
                + "this node (1 rank x 121.8 GB: master weights, their gradients and AdamW's two moments of the 7.6 B "
                + "trained parameters offloaded, in shards) and 117.8 GB is available; train fewer parameters "
                + "(finetuning_type: lora), use precision: bf16-true (half the bytes), run on more nodes, offload less "
                + "of the optimizer (offload_optimizer.ratio, the share offloaded; the rest stays on the GPU) or none "
                + "of it (no offload_optimizer)", e.getMessage());
    }

    @Test
    void everyRankReadsTheMemoryBeforeAnyTakesItAndAllStopWhenOneNodeLacksIt() throws Exception {
        long params = 7_615_616_512L;
        long perRank = params * 16 / 2;   // two ranks, each on a node of its own
        List<ProcessGroup> ranks = InProcessGroup.ranks(2);
        AtomicBoolean slowRankArrived = new AtomicBoolean();
        AtomicBoolean readAfterBothArrived = new AtomicBoolean();
        try (NDManager m = Engines.newManager(Device.cpu())) {
            CompletableFuture<Void> fast = CompletableFuture.runAsync(() -> OffloadMemory.checkAllRanks(ranks.get(0), m,
                    () -> {
                        readAfterBothArrived.set(slowRankArrived.get());
                        return OptionalLong.of(130_000_000_000L);
                    }, perRank, 1, params, "deepspeed: ds_z3_offload_config.json"));
            CompletableFuture<Void> slow = CompletableFuture.runAsync(() -> {
                try {
                    Thread.sleep(300);
                } catch (InterruptedException e) {
                    throw new IllegalStateException(e);
                }
                slowRankArrived.set(true);
                OffloadMemory.checkAllRanks(ranks.get(1), m, () -> OptionalLong.of(40_000_000_000L), perRank, 1, params,
                        "deepspeed: ds_z3_offload_config.json");
            });
            ExecutionException slowError = assertThrows(ExecutionException.class, () -> slow.get(60, TimeUnit.SECONDS));
            assertTrue(slowError.getCause().getMessage().contains("needs about 60.9 GB of host memory on this node"),
                    slowError.getCause().getMessage());
            ExecutionException fastError = assertThrows(ExecutionException.class, () -> fast.get(60, TimeUnit.SECONDS));
            assertEquals(UserError.class, fastError.getCause().getClass());
            assertEquals("deepspeed: ds_z3_offload_config.json: offload_optimizer: rank 1 found too little host memory "
                    + "on its node (its own message says how much and what to change); every rank stops",
                    fastError.getCause().getMessage());
            assertTrue(readAfterBothArrived.get(), "rank 0 read its memory before rank 1 had come to the check");
        }
    }
}
