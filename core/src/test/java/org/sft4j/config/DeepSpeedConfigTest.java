package org.sft4j.config;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sft4j.base.UserError;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code deepspeed: PATH}: the ZeRO stage of a DeepSpeed JSON, its "auto" values taken from the run, as HF fills them. */
class DeepSpeedConfigTest {

    /** LLaMA-Factory's examples/deepspeed/ds_z3_config.json, verbatim. */
    static final String DS_Z3 = """
            {
              "train_batch_size": "auto",
              "train_micro_batch_size_per_gpu": "auto",
              "gradient_accumulation_steps": "auto",
              "gradient_clipping": "auto",
              "zero_allow_untested_optimizer": true,
              "fp16": {
                "enabled": "auto",
                "loss_scale": 0,
                "loss_scale_window": 1000,
                "initial_scale_power": 16,
                "hysteresis": 2,
                "min_loss_scale": 1
              },
              "bf16": {
                "enabled": "auto"
              },
              "zero_optimization": {
                "stage": 3,
                "overlap_comm": false,
                "contiguous_gradients": true,
                "sub_group_size": 1e9,
                "reduce_bucket_size": "auto",
                "stage3_prefetch_bucket_size": "auto",
                "stage3_param_persistence_threshold": "auto",
                "stage3_max_live_parameters": 1e9,
                "stage3_max_reuse_distance": 1e9,
                "stage3_gather_16bit_weights_on_model_save": true
              }
            }
            """;

    private static TrainArgs args(Path ds, Object... kv) {
        Map<String, Object> m = new java.util.HashMap<>(Map.of("deepspeed", ds.toString(), "per_device_train_batch_size", 8,
                "bf16", true));
        for (int i = 0; i < kv.length; i += 2) {
            m.put((String) kv[i], kv[i + 1]);
        }
        return SftConfig.of(m).train();
    }

    @Test
    void llamaFactorysZeroThreeFileRunsAtStageThreeWithEveryAutoValueTaken(@TempDir Path tmp) throws Exception {
        Path ds = Files.writeString(tmp.resolve("ds_z3_config.json"), DS_Z3);
        List<String> warnings = new ArrayList<>();
        assertEquals(3, args(ds).zeroStage(4, warnings::add));
        assertEquals(List.of(), warnings);
        assertEquals(3, args(ds, "zero_stage", 3).zeroStage(4, warnings::add), "zero_stage may repeat it");
        UserError both = assertThrows(UserError.class, () -> args(ds, "zero_stage", 2).zeroStage(4, w -> { }));
        assertTrue(both.getMessage().startsWith("zero_stage: 2 and deepspeed: " + ds + " (zero_optimization.stage 3) disagree"),
                both.getMessage());
    }

    @Test
    void valuesThatAreNotAutoMustAgreeWithTheRun(@TempDir Path tmp) throws Exception {
        Path ds = Files.writeString(tmp.resolve("ds.json"), DS_Z3.replace("\"train_micro_batch_size_per_gpu\": \"auto\"",
                "\"train_micro_batch_size_per_gpu\": 4").replace("\"train_batch_size\": \"auto\"", "\"train_batch_size\": 32"));
        UserError e = assertThrows(UserError.class, () -> args(ds).zeroStage(4, w -> { }));
        assertEquals("deepspeed: " + ds + ": these values disagree with the run's settings:\n"
                + "- ds train_micro_batch_size_per_gpu=4 vs sft4j 8\n"
                + "set them to \"auto\" (they then take the run's values) or change the run's keys", e.getMessage());
        // 8 per device x 1 step x 4 ranks: the global batch agrees
        Path agreeing = Files.writeString(tmp.resolve("ok.json"), DS_Z3.replace("\"train_batch_size\": \"auto\"",
                "\"train_batch_size\": 32").replace("\"enabled\": \"auto\"\n  }", "\"enabled\": true\n  }"));
        assertEquals(3, args(agreeing).zeroStage(4, w -> { }));
    }

    @Test
    void optimizerOffloadToTheCpuIsReadNvmeAndStageZeroAreRefused(@TempDir Path tmp) throws Exception {
        // LLaMA-Factory's ds_z3_offload_config.json: ds_z3_config.json with both offloads to the CPU
        Path offload = Files.writeString(tmp.resolve("ds_z3_offload_config.json"), DS_Z3.replace("\"stage\": 3,",
                "\"stage\": 3, \"offload_optimizer\": {\"device\": \"cpu\", \"pin_memory\": true}, "
                + "\"offload_param\": {\"device\": \"cpu\", \"pin_memory\": true},"));
        List<String> warnings = new ArrayList<>();
        assertEquals(new TrainArgs.Sharding(3, 1), args(offload).sharding(2, warnings::add));
        assertEquals(1, warnings.size());
        assertTrue(warnings.get(0).contains("offload_param is not built: each rank keeps its 16-bit shard of the parameters "
                + "on its GPU; the optimizer state and fp32 master weights are offloaded"), warnings.get(0));
        assertEquals(new TrainArgs.Sharding(3, 0), args(Files.writeString(tmp.resolve("z3.json"), DS_Z3))
                .sharding(2, w -> { }), "no offload key: the states stay on the devices");
        Path nvme = Files.writeString(tmp.resolve("nvme.json"), DS_Z3.replace("\"stage\": 3,",
                "\"stage\": 3, \"offload_optimizer\": {\"device\": \"nvme\", \"nvme_path\": \"/local_nvme\"},"));
        UserError e = assertThrows(UserError.class, () -> args(nvme).zeroStage(2, w -> { }));
        assertEquals("deepspeed: " + nvme + ": zero_optimization.offload_optimizer.device is nvme; sft4j offloads to cpu "
                + "only (NVMe offload is not built)", e.getMessage());
        Path zero = Files.writeString(tmp.resolve("z0.json"), DS_Z3.replace("\"stage\": 3,",
                "\"stage\": 0, \"offload_optimizer\": {\"device\": \"cpu\"},"));
        UserError z = assertThrows(UserError.class, () -> args(zero).zeroStage(2, w -> { }));
        assertEquals("deepspeed: " + zero + ": zero_optimization.offload_optimizer needs a ZeRO stage (1, 2 or 3); "
                + "zero_optimization.stage is 0", z.getMessage());
    }

    /** DeepSpeed's {@code offload_optimizer.ratio} (ZeRO-Offload++): the share of the state offloaded, from 0 to 1. */
    @Test
    void offloadRatioIsReadAndAnyOtherValueIsRefusedByName(@TempDir Path tmp) throws Exception {
        Path half = Files.writeString(tmp.resolve("half.json"), DS_Z3.replace("\"stage\": 3,",
                "\"stage\": 3, \"offload_optimizer\": {\"device\": \"cpu\", \"ratio\": 0.3},"));
        TrainArgs.Sharding sharding = args(half).sharding(2, w -> { });
        assertEquals(new TrainArgs.Sharding(3, 0.3), sharding);
        assertTrue(sharding.offloadOptimizer());
        Path none = Files.writeString(tmp.resolve("none.json"), DS_Z3.replace("\"stage\": 3,",
                "\"stage\": 3, \"offload_optimizer\": {\"device\": \"cpu\", \"ratio\": 0},"));
        assertFalse(args(none).sharding(2, w -> { }).offloadOptimizer(), "ratio 0: every state stays on the device");
        Path ignored = Files.writeString(tmp.resolve("ignored.json"), DS_Z3.replace("\"stage\": 3,",
                "\"stage\": 3, \"offload_optimizer\": {\"device\": \"none\", \"ratio\": 0.5},"));
        assertEquals(new TrainArgs.Sharding(3, 0), args(ignored).sharding(2, w -> { }), "no device: no offload");
        for (String bad : new String[] {"1.5", "-0.1", "\"half\"", "\"auto\""}) {
            Path file = Files.writeString(tmp.resolve("bad.json"), DS_Z3.replace("\"stage\": 3,",
                    "\"stage\": 3, \"offload_optimizer\": {\"device\": \"cpu\", \"ratio\": " + bad + "},"));
            UserError e = assertThrows(UserError.class, () -> args(file).zeroStage(2, w -> { }));
            assertEquals("deepspeed: " + file + ": zero_optimization.offload_optimizer.ratio is " + bad + "; it is the "
                    + "share of the optimizer state offloaded to the CPU, a number from 0 to 1", e.getMessage());
        }
    }

    @Test
    void brokenAndMissingFilesAreNamedWithTheirLine(@TempDir Path tmp) throws Exception {
        Path broken = Files.writeString(tmp.resolve("broken.json"), "{\n  \"zero_optimization\": {\"stage\": 3,,}\n}");
        UserError b = assertThrows(UserError.class, () -> args(broken).zeroStage(2, w -> { }));
        assertTrue(b.getMessage().startsWith("deepspeed: " + broken + " line 2 column"), b.getMessage());
        UserError missing = assertThrows(UserError.class, () -> args(tmp.resolve("nope.json")).zeroStage(2, w -> { }));
        assertEquals("deepspeed: " + tmp.resolve("nope.json") + " does not exist", missing.getMessage());
    }

    @Test
    void aSeedYamlNamingLlamaFactorysExampleRunsWhereTheFileIsAbsent() {
        List<String> warnings = new ArrayList<>();
        TrainArgs seed = SftConfig.of(Map.of("deepspeed", "examples/deepspeed/ds_z2_config.json")).train();
        assertEquals(2, seed.zeroStage(8, warnings::add));
        assertEquals(1, warnings.size());
        assertTrue(warnings.get(0).contains("LLaMA-Factory's example of that name sets ZeRO stage 2"), warnings.get(0));
        warnings.clear();
        assertEquals(new TrainArgs.Sharding(3, 1), SftConfig.of(Map.of("deepspeed",
                "examples/deepspeed/ds_z3_offload_config.json")).train().sharding(8, warnings::add));
        assertTrue(warnings.get(0).contains("sets ZeRO stage 3 with the optimizer offloaded to the CPU"), warnings.get(0));
    }
}
