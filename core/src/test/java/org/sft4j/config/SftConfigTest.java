package org.sft4j.config;

import org.junit.jupiter.api.Test;
import org.sft4j.base.UserError;
import org.sft4j.nd.Precision;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SftConfigTest {

    /** The training YAML of shared/seeds/000 (LLaMA-Factory, TowerBlocks recipe), verbatim. */
    static final String SEED_YAML = """
            ### model
            model_name_or_path: Qwen2.5-7B

            ### method
            stage: sft
            do_train: true
            finetuning_type: full
            deepspeed: examples/deepspeed/ds_z3_config.json

            ### dataset
            dataset: sft_towerblocks_mt
            template: chatml
            cutoff_len: 2048
            overwrite_cache: true
            preprocessing_num_workers: 16

            ### output
            output_dir: saves/qwen-7b/full/eax_sft
            logging_steps: 1
            save_steps: 500000
            plot_loss: true
            overwrite_output_dir: true

            ### train
            per_device_train_batch_size: 8
            gradient_accumulation_steps: 1
            learning_rate: 7.0e-6
            num_train_epochs: 1.0
            lr_scheduler_type: cosine
            warmup_ratio: 0.1
            # warmup_steps: 200
            bf16: true
            # fp16: true
            ddp_timeout: 180000000
            """;

    @Test
    void llamaFactorySeedYamlLoadsWithWarningsForKeysThatDoNotApply() {
        SftConfig c = SftConfig.parse(SEED_YAML, "seed.yaml");
        assertEquals("Qwen2.5-7B", c.model().modelNameOrPath());
        assertEquals("chatml", c.model().template());
        assertEquals(2048, c.data().cutoffLen());
        assertEquals(7.0e-6, c.train().learningRate());
        assertEquals("cosine", c.train().lrSchedulerType());
        assertEquals(0.1, c.train().warmupRatio());
        assertTrue(c.train().bf16());
        assertEquals(org.sft4j.nd.Precision.BF16_MIXED, c.train().precision(), "bf16: true is bf16-mixed");
        assertTrue(c.train().overwriteOutputDir());
        assertEquals(3, c.warnings().size(), c.warnings().toString());
        // the keys of sharded training apply: the DeepSpeed file's stage and the process group's timeout
        assertEquals("examples/deepspeed/ds_z3_config.json", c.train().deepspeed());
        assertEquals(180000000, c.train().ddpTimeout());
        assertEquals(3, c.train().zeroStage(2, w -> { }), "LLaMA-Factory's ds_z3_config.json, known by name");
    }

    @Test
    void activationCheckpointingByHfsKeyOrLlamaFactorysNegation() {
        assertEquals(false, SftConfig.defaults().train().gradientCheckpointing());
        assertEquals(true, SftConfig.of(java.util.Map.of("gradient_checkpointing", true)).train().gradientCheckpointing());
        assertEquals(true, SftConfig.of(java.util.Map.of("disable_gradient_checkpointing", false)).train()
                .gradientCheckpointing(), "LLaMA-Factory checkpoints unless told not to");
        assertEquals(false, SftConfig.of(java.util.Map.of("disable_gradient_checkpointing", true)).train()
                .gradientCheckpointing());
        UserError e = assertThrows(UserError.class, () -> SftConfig.of(java.util.Map.of("gradient_checkpointing", true,
                "disable_gradient_checkpointing", true)));
        assertTrue(e.getMessage().contains("gradient_checkpointing: true and disable_gradient_checkpointing: true disagree"),
                e.getMessage());
    }

    @Test
    void checkpointingFewerLayersThanAll() {
        assertEquals(28, SftConfig.of(java.util.Map.of("gradient_checkpointing", true)).train().checkpointedLayers(28),
                "every layer unless told otherwise");
        assertEquals(0, SftConfig.defaults().train().checkpointedLayers(28));
        TrainArgs some = SftConfig.of(java.util.Map.of("gradient_checkpointing", true, "gradient_checkpointing_layers", 18))
                .train();
        assertEquals(18, some.checkpointedLayers(28));
        UserError tooMany = assertThrows(UserError.class, () -> some.checkpointedLayers(12));
        assertEquals("gradient_checkpointing_layers: 18 but the model has 12 decoder layers", tooMany.getMessage());
        UserError off = assertThrows(UserError.class, () -> SftConfig.of(java.util.Map.of("gradient_checkpointing_layers", 4)));
        assertTrue(off.getMessage().contains("gradient_checkpointing_layers: 4 needs gradient_checkpointing: true"),
                off.getMessage());
        UserError negative = assertThrows(UserError.class, () -> SftConfig.of(java.util.Map.of("gradient_checkpointing", true,
                "gradient_checkpointing_layers", -1)));
        assertTrue(negative.getMessage().contains("gradient_checkpointing_layers must be 0 or more, got -1"),
                negative.getMessage());
    }

    @Test
    void loraSeedKeysAndFairseq2Aliases() {
        SftConfig c = SftConfig.of(java.util.Map.of("finetuning_type", "lora", "lora_rank", "64", "lora_alpha", "128",
                "lora_dropout", "0.05", "save_total_limit", "3", "eval_steps", "50", "max_seq_len", "20480", "adam_beta1", "0.8"));
        assertEquals(64, c.model().loraRank());
        assertEquals(128.0, c.model().loraAlpha());
        assertEquals(3, c.train().keepLastNCheckpoints());
        assertEquals(50, c.train().validateEveryNSteps());
        assertEquals(20480, c.data().cutoffLen());
        assertEquals(0.8, c.train().adamBeta1());
        assertEquals(16.0, SftConfig.of(java.util.Map.of("lora_rank", 8)).model().loraAlpha(), "alpha defaults to 2 x rank");
    }

    @Test
    void typosAndContradictionsAreClearErrors() {
        UserError typo = assertThrows(UserError.class,
                () -> SftConfig.parse("learning_rat: 1e-4", "x.yaml"));
        assertTrue(typo.getMessage().contains("unknown key 'learning_rat'") && typo.getMessage().contains("learning_rate"),
                typo.getMessage());
        UserError both = assertThrows(UserError.class,
                () -> SftConfig.parse("bf16: true\nfp16: true", "x.yaml"));
        assertTrue(both.getMessage().contains("bf16 and fp16"), both.getMessage());
        UserError pure = assertThrows(UserError.class,
                () -> SftConfig.parse("pure_bf16: true\nfp16: true", "x.yaml"));
        assertTrue(pure.getMessage().contains("pure_bf16 and fp16 are both set"), pure.getMessage());
        UserError stage = assertThrows(UserError.class, () -> SftConfig.parse("stage: dpo", "x.yaml"));
        assertTrue(stage.getMessage().contains("dpo"), stage.getMessage());
    }

    @Test
    void precisionIsOneKeyAndLlamaFactorysBooleansAreItsAliases() {
        assertEquals(Precision.FP32, SftConfig.defaults().train().precision());
        assertEquals(Precision.BF16_MIXED, SftConfig.parse("bf16: true", "x.yaml").train().precision());
        assertEquals(Precision.FP16_MIXED, SftConfig.parse("fp16: true", "x.yaml").train().precision());
        assertEquals(Precision.BF16_TRUE, SftConfig.parse("pure_bf16: true", "x.yaml").train().precision());
        assertEquals(Precision.BF16_TRUE, SftConfig.parse("pure_bf16: true\nbf16: true", "x.yaml").train().precision(),
                "pure_bf16 wins over bf16, as in LLaMA-Factory");
        assertEquals(Precision.BF16_TRUE, SftConfig.parse("precision: bf16-true\npure_bf16: true", "x.yaml").train().precision(),
                "the key and an alias that agree");
        assertEquals(Precision.FP16_MIXED, SftConfig.parse("precision: 16-mixed\nbf16: false", "x.yaml").train().precision());
        UserError both = assertThrows(UserError.class, () -> SftConfig.parse("precision: bf16-mixed\npure_bf16: true", "x.yaml"));
        assertEquals("x.yaml: precision: bf16-mixed and pure_bf16: true disagree (pure_bf16: true means precision: "
                + "bf16-true); keep one of them", both.getMessage());
        UserError unknown = assertThrows(UserError.class, () -> SftConfig.of(java.util.Map.of("precision", "fp8")));
        assertTrue(unknown.getMessage().contains("precision 'fp8' is not one of [fp32, bf16-mixed, fp16-mixed, bf16-true]"),
                unknown.getMessage());
    }

    @Test
    void bf16WeightsKeepTheirUpdatesByDefaultAndTheRuleIsOneKey() {
        assertEquals(org.sft4j.nd.Bf16Update.STOCHASTIC, SftConfig.parse("pure_bf16: true", "x.yaml").train().bf16Update(),
                "stochastic rounding wherever the weights are bf16");
        assertEquals(org.sft4j.nd.Bf16Update.NEAREST, SftConfig.parse("bf16: true", "x.yaml").train().bf16Update(),
                "fp32 master weights need none");
        assertEquals(org.sft4j.nd.Bf16Update.KAHAN,
                SftConfig.parse("precision: bf16-true\nbf16_update: kahan", "x.yaml").train().bf16Update());
        assertEquals(org.sft4j.nd.Bf16Update.NEAREST,
                SftConfig.parse("precision: bf16-true\nbf16_update: nearest", "x.yaml").train().bf16Update());
        UserError bad = assertThrows(UserError.class, () -> SftConfig.parse("bf16_update: exact", "x.yaml"));
        assertTrue(bad.getMessage().contains("bf16_update 'exact' is not one of [nearest, kahan, stochastic]"), bad.getMessage());
    }

    @Test
    void withReturnsANewConfig() {
        SftConfig a = SftConfig.defaults();
        SftConfig b = a.with("learning_rate", 1e-4);
        assertEquals(5e-5, a.train().learningRate());
        assertEquals(1e-4, b.train().learningRate());
    }

    @Test
    void enableThinkingAsLlamaFactoryReadsIt() {
        assertEquals(EnableThinking.TRUE, SftConfig.defaults().model().enableThinking(), "LLaMA-Factory's default");
        assertEquals(EnableThinking.FALSE, SftConfig.parse("enable_thinking: false", "t.yaml").model().enableThinking());
        assertEquals(EnableThinking.AUTO, SftConfig.parse("enable_thinking: null", "t.yaml").model().enableThinking(),
                "LLaMA-Factory's None: per example");
        assertEquals(EnableThinking.AUTO, SftConfig.parse("enable_thinking: auto", "t.yaml").model().enableThinking());
        assertEquals(EnableThinking.FALSE, SftConfig.defaults().with("enable-thinking", "False").model().enableThinking(),
                "a magic flag's string");
        assertEquals(EnableThinking.AUTO, SftConfig.defaults().with("enable_thinking", null).model().enableThinking(),
                "null from Java, as from YAML");
        UserError e = assertThrows(UserError.class, () -> SftConfig.parse("enable_thinking: sometimes", "t.yaml"));
        assertEquals("t.yaml: enable_thinking 'sometimes' must be true, false or auto", e.getMessage());
    }
}
