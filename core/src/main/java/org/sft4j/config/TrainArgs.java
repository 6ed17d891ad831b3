package org.sft4j.config;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;
import org.sft4j.base.UserError;
import org.sft4j.nd.Bf16Update;
import org.sft4j.nd.Precision;

import java.util.List;

/**
 * The optimisation: batch, schedule, AdamW, clipping, checkpoints, validation, devices (HF Trainer's
 * and LLaMA-Factory's keys; fairseq2's {@code keep_last_n_checkpoints} and {@code validate_every_n_steps}).
 *
 * @param outputDir where checkpoints, metrics.jsonl and the final model go
 * @param perDeviceTrainBatchSize examples per micro-batch per process
 * @param perDeviceEvalBatchSize examples per validation/generation batch
 * @param gradientAccumulationSteps micro-batches per optimizer step
 * @param learningRate peak learning rate
 * @param numTrainEpochs epochs (fractional allowed) when {@code max_steps} is not set
 * @param maxSteps optimizer steps; overrides epochs when positive
 * @param lrSchedulerType {@code linear}, {@code cosine} or {@code constant}
 * @param warmupRatio warm-up as a fraction of the steps
 * @param warmupSteps warm-up in steps (wins over the ratio)
 * @param weightDecay decoupled weight decay
 * @param decayNormsAndBiases also decay RMSNorm weights and biases (the AdamW fixture does)
 * @param adamBeta1 AdamW beta1
 * @param adamBeta2 AdamW beta2
 * @param adamEpsilon AdamW epsilon
 * @param maxGradNorm global-norm clipping threshold, 0 for none
 * @param loggingSteps log every N steps
 * @param saveSteps checkpoint every N steps (and at the end)
 * @param keepLastNCheckpoints keep at most N checkpoints (LLaMA-Factory's save_total_limit is an alias)
 * @param validateEveryNSteps validation loss every N steps (eval_steps is an alias)
 * @param precision {@code fp32}, {@code bf16-mixed}, {@code fp16-mixed} or {@code bf16-true} (Lightning's names;
 *     16-bit ones need the native extension and train in fp32 without it)
 * @param bf16 LLaMA-Factory's alias of {@code precision: bf16-mixed}
 * @param pureBf16 LLaMA-Factory's alias of {@code precision: bf16-true}
 * @param fp16 LLaMA-Factory's alias of {@code precision: fp16-mixed}
 * @param bf16Update how bf16 weights take an optimizer update: {@code stochastic} (stochastic rounding, the default
 *     under bf16-true), {@code kahan} (Kahan-compensated) or {@code nearest} (as torch: small updates are lost)
 * @param resumeFromCheckpoint a checkpoint directory, or {@code auto}/{@code true} for the latest in output_dir
 * @param overwriteOutputDir start over in an output_dir that holds another run (its checkpoints, metrics and scores
 *     are removed); without it such a folder is refused, unless the run resumes
 * @param seed seed of initialisation, dropout and shuffling
 * @param lossChunkRows rows of the LM head computed at once in the loss
 * @param saveDtype dtype of saved weights: {@code auto} (as loaded), {@code float32}, {@code bfloat16}, {@code float16}
 * @param nprocPerNode worker processes (GPUs) per node
 * @param nnodes nodes
 * @param nodeRank this node's rank
 * @param masterAddr rendezvous host
 * @param masterPort rendezvous port
 * @param gradientCheckpointing activation checkpointing: keep only each decoder layer's input and recompute its
 *     forward in backward (HF's key)
 * @param disableGradientCheckpointing LLaMA-Factory's key: {@code false} turns checkpointing on, {@code true} off
 * @param gradientCheckpointingLayers with checkpointing on, checkpoint only the first N decoder layers and keep the
 *     rest's activations (Megatron's {@code recompute_num_layers}): less recomputation where memory allows it
 * @param zeroStage ZeRO sharding of a multi-process run: 0 none (data parallel), 1 optimizer state, 2 and gradients,
 *     3 and parameters
 * @param deepspeed a DeepSpeed JSON whose {@code zero_optimization.stage} sets the ZeRO stage (its "auto" values
 *     take this config's)
 * @param ddpTimeout seconds a collective (or the rendezvous) may wait before the run stops (HF's key; 1800)
 */
@JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
@JsonIgnoreProperties(ignoreUnknown = true)
public record TrainArgs(String outputDir, Integer perDeviceTrainBatchSize, Integer perDeviceEvalBatchSize,
                        Integer gradientAccumulationSteps, Double learningRate, Double numTrainEpochs, Integer maxSteps,
                        String lrSchedulerType, Double warmupRatio, Integer warmupSteps, Double weightDecay,
                        Boolean decayNormsAndBiases, Double adamBeta1, Double adamBeta2, Double adamEpsilon,
                        Double maxGradNorm, Integer loggingSteps, Integer saveSteps,
                        @JsonProperty("keep_last_n_checkpoints") Integer keepLastNCheckpoints,
                        @JsonProperty("validate_every_n_steps") Integer validateEveryNSteps, Precision precision,
                        Boolean bf16, Boolean pureBf16, Boolean fp16, Bf16Update bf16Update, String resumeFromCheckpoint, Boolean overwriteOutputDir,
                        Long seed,
                        Integer lossChunkRows, String saveDtype, Integer nprocPerNode, Integer nnodes, Integer nodeRank,
                        String masterAddr, Integer masterPort, Boolean gradientCheckpointing,
                        Boolean disableGradientCheckpointing, Integer gradientCheckpointingLayers, Integer zeroStage, String deepspeed, Integer ddpTimeout,
                        String saveStrategy) {

    public TrainArgs {
        perDeviceTrainBatchSize = def(perDeviceTrainBatchSize, 8);
        perDeviceEvalBatchSize = def(perDeviceEvalBatchSize, perDeviceTrainBatchSize);
        gradientAccumulationSteps = def(gradientAccumulationSteps, 1);
        learningRate = def(learningRate, 5e-5);
        numTrainEpochs = def(numTrainEpochs, 3.0);
        maxSteps = def(maxSteps, -1);
        lrSchedulerType = lrSchedulerType == null ? "linear" : lrSchedulerType.replace("_with_warmup", "");
        if (!List.of("linear", "cosine", "constant").contains(lrSchedulerType)) {
            throw new UserError("lr_scheduler_type '" + lrSchedulerType + "' is not supported; use linear, "
                    + "cosine or constant");
        }
        warmupRatio = def(warmupRatio, 0.0);
        warmupSteps = def(warmupSteps, 0);
        weightDecay = def(weightDecay, 0.0);
        decayNormsAndBiases = decayNormsAndBiases != null && decayNormsAndBiases;
        adamBeta1 = def(adamBeta1, 0.9);
        adamBeta2 = def(adamBeta2, 0.999);
        adamEpsilon = def(adamEpsilon, 1e-8);
        maxGradNorm = def(maxGradNorm, 1.0);
        loggingSteps = def(loggingSteps, 10);
        saveSteps = def(saveSteps, 500);
        // HF's save_strategy: "no" writes no checkpoint at all (a benchmark, a dry run); "steps" (and what sft4j does
        // not tell apart from it) saves every save_steps and at the end
        saveStrategy = saveStrategy == null ? "steps" : saveStrategy;
        validateEveryNSteps = def(validateEveryNSteps, 0);
        bf16 = bf16 != null && bf16;
        pureBf16 = pureBf16 != null && pureBf16;
        fp16 = fp16 != null && fp16;
        precision = precision(precision, bf16, pureBf16, fp16);
        bf16Update = bf16Update == null ? Bf16Update.defaultFor(precision) : bf16Update;
        overwriteOutputDir = overwriteOutputDir != null && overwriteOutputDir;
        seed = seed == null ? 42L : seed;
        lossChunkRows = def(lossChunkRows, 1024);
        saveDtype = saveDtype == null ? "auto" : saveDtype;
        nprocPerNode = def(nprocPerNode, 1);
        nnodes = def(nnodes, 1);
        nodeRank = def(nodeRank, 0);
        masterAddr = masterAddr == null ? "127.0.0.1" : masterAddr;
        masterPort = def(masterPort, 29500);
        gradientCheckpointing = checkpointing(gradientCheckpointing, disableGradientCheckpointing);
        if (gradientCheckpointingLayers != null && gradientCheckpointingLayers < 0) {
            throw new UserError("gradient_checkpointing_layers must be 0 or more, got " + gradientCheckpointingLayers);
        }
        if (gradientCheckpointingLayers != null && !gradientCheckpointing) {
            throw new UserError("gradient_checkpointing_layers: " + gradientCheckpointingLayers
                    + " needs gradient_checkpointing: true (it says how many layers to checkpoint)");
        }
        if (zeroStage != null && (zeroStage < 0 || zeroStage > 3)) {
            throw new UserError("zero_stage must be 0, 1, 2 or 3, got " + zeroStage);
        }
        ddpTimeout = def(ddpTimeout, 1800);
        if (ddpTimeout < 1) {
            throw new UserError("ddp_timeout must be at least 1 second, got " + ddpTimeout);
        }
    }

    /**
     * {@code precision}, or what LLaMA-Factory's booleans say ({@code pure_bf16} wins over {@code bf16}, as there);
     * the key and a boolean that disagree are an error naming both.
     */
    private static Precision precision(Precision key, boolean bf16, boolean pureBf16, boolean fp16) {
        if ((bf16 || pureBf16) && fp16) {
            throw new UserError((pureBf16 ? "pure_bf16" : "bf16") + " and fp16 are both set; choose one");
        }
        String alias = pureBf16 ? "pure_bf16" : bf16 ? "bf16" : fp16 ? "fp16" : null;
        Precision implied = pureBf16 ? Precision.BF16_TRUE : bf16 ? Precision.BF16_MIXED : fp16 ? Precision.FP16_MIXED : null;
        if (key != null && implied != null && key != implied) {
            throw new UserError("precision: " + key + " and " + alias + ": true disagree (" + alias
                    + ": true means precision: " + implied + "); keep one of them");
        }
        return key != null ? key : implied != null ? implied : Precision.FP32;
    }

    /**
     * Whether activations are checkpointed: HF's {@code gradient_checkpointing}, or LLaMA-Factory's
     * {@code disable_gradient_checkpointing} negated (off when neither is given); the two disagreeing is an error.
     */
    private static Boolean checkpointing(Boolean hf, Boolean disable) {
        if (hf != null && disable != null && hf.equals(disable)) {
            throw new UserError("gradient_checkpointing: " + hf + " and disable_gradient_checkpointing: " + disable
                    + " disagree; keep one of them");
        }
        return hf != null ? hf : disable != null && !disable;
    }

    /**
     * How many decoder layers, from the first, a model of {@code layers} checkpoints: none without checkpointing, all
     * unless {@code gradient_checkpointing_layers} says fewer (more than the model has is an error).
     */
    public int checkpointedLayers(int layers) {
        if (!gradientCheckpointing) {
            return 0;
        }
        if (gradientCheckpointingLayers == null) {
            return layers;
        }
        if (gradientCheckpointingLayers > layers) {
            throw new UserError("gradient_checkpointing_layers: " + gradientCheckpointingLayers + " but the model has "
                    + layers + " decoder layers");
        }
        return gradientCheckpointingLayers;
    }

    /**
     * How a run is sharded: its ZeRO stage (0: not at all) and the share of the optimizer state that lives in host
     * memory (0: none, 1: all of it).
     */
    public record Sharding(int stage, double offloadRatio) {

        /** Whether any of the optimizer state lives in host memory. */
        public boolean offloadOptimizer() {
            return offloadRatio > 0;
        }
    }

    /**
     * The ZeRO stage of a run of {@code world} processes: {@code zero_stage}, or the stage of the {@code deepspeed}
     * JSON (read now, its "auto" values resolved against this config); the two disagreeing is an error. Warnings about
     * the JSON go to {@code warnings}.
     */
    public int zeroStage(int world, java.util.function.Consumer<String> warnings) {
        return sharding(world, warnings).stage();
    }

    /**
     * The ZeRO stage (see {@link #zeroStage}) and, from the {@code deepspeed} JSON, how much of the optimizer is
     * offloaded to the CPU ({@code zero_optimization.offload_optimizer.device: cpu} and its {@code ratio}).
     */
    public Sharding sharding(int world, java.util.function.Consumer<String> warnings) {
        if (deepspeed == null || deepspeed.isBlank()) {
            return new Sharding(zeroStage == null ? 0 : zeroStage, 0);
        }
        DeepSpeedConfig ds = DeepSpeedConfig.read(deepspeed, this, world);
        if (zeroStage != null && zeroStage != ds.stage()) {
            throw new UserError("zero_stage: " + zeroStage + " and deepspeed: " + deepspeed + " (zero_optimization.stage "
                    + ds.stage() + ") disagree; keep one of them");
        }
        ds.warnings().forEach(warnings);
        return new Sharding(ds.stage(), ds.offloadRatio());
    }

    /** Whether the run continues from a checkpoint ({@code resume_from_checkpoint} set and not false). */
    public boolean resumes() {
        return resumeFromCheckpoint != null && !resumeFromCheckpoint.isBlank() && !resumeFromCheckpoint.equals("false");
    }

    private static <T> T def(T v, T d) {
        return v == null ? d : v;
    }

    /** Whether the run writes checkpoints ({@code save_strategy} other than {@code no}). */
    public boolean saves() {
        return !"no".equals(saveStrategy);
    }
}
