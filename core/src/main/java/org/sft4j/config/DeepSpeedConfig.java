package org.sft4j.config;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.sft4j.base.UserError;
import org.sft4j.nd.Precision;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What a DeepSpeed JSON ({@code deepspeed: PATH}, as the seeds' LLaMA-Factory YAMLs name one) asks of sft4j: the ZeRO
 * stage of {@code zero_optimization.stage}, and whether {@code zero_optimization.offload_optimizer.device} is
 * {@code cpu} (the fp32 master weights, their gradients and the AdamW moments kept and updated in host memory), and
 * how much of that state: {@code offload_optimizer.ratio} (DeepSpeed's ZeRO-Offload++, 1 when absent) offloads that
 * share of the trained parameters' state, the rest staying on the GPU and updated there.
 * Values set to {@code "auto"} take the run's own settings, as the HF Trainer fills them in; a value set to something
 * else must agree with the run's setting, or the run stops with the mismatch named (the HF Trainer's rule). NVMe
 * offload is not built and is an error; {@code offload_param} to the CPU runs with a warning, each rank's 16-bit shard
 * of the parameters staying on its GPU.
 *
 * <p>LLaMA-Factory's own example files ({@code examples/deepspeed/ds_z3_config.json} and its siblings) are known by
 * name: a YAML that names one where the file is absent runs at that file's stage (and offload), with a warning.
 */
public record DeepSpeedConfig(int stage, double offloadRatio, List<String> warnings) {

    /** Whether any of the optimizer state is offloaded to the CPU. */
    public boolean offloadOptimizer() {
        return offloadRatio > 0;
    }

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern LLAMA_FACTORY_EXAMPLE = Pattern.compile("ds_z([0-3])(_offload)?_config\\.json");

    /**
     * Reads {@code path} for a run of {@code world} processes with {@code args}.
     *
     * @throws UserError when the file cannot be read, sets a stage other than 0-3, asks for NVMe or for offload at
     *     stage 0, or sets a value that contradicts the run's settings
     */
    public static DeepSpeedConfig read(String path, TrainArgs args, int world) {
        Path file = Path.of(path);
        if (!Files.exists(file)) {
            Matcher m = LLAMA_FACTORY_EXAMPLE.matcher(file.getFileName().toString());
            if (!m.matches()) {
                throw new UserError("deepspeed: " + path + " does not exist");
            }
            boolean offload = m.group(2) != null;
            if (offload && m.group(1).equals("0")) {
                throw offloadWithoutStage(path);
            }
            return new DeepSpeedConfig(Integer.parseInt(m.group(1)), offload ? 1 : 0, List.of("deepspeed: " + path + " is not "
                    + "here; LLaMA-Factory's example of that name sets ZeRO stage " + m.group(1)
                    + (offload ? " with the optimizer offloaded to the CPU" : "") + " and every value \"auto\", which is "
                    + "what sft4j runs"));
        }
        JsonNode root;
        try {
            root = JSON.readTree(file.toFile());
        } catch (JsonProcessingException e) {
            JsonLocation at = e.getLocation();
            throw new UserError("deepspeed: " + path + (at == null ? "" : " line " + at.getLineNr() + " column "
                    + at.getColumnNr()) + ": not valid JSON (" + e.getOriginalMessage() + ")", e);
        } catch (IOException e) {
            throw new UserError("deepspeed: " + path + " cannot be read (" + e.getMessage() + ")", e);
        }
        if (root == null || !root.isObject()) {
            throw new UserError("deepspeed: " + path + " must hold a JSON object");
        }
        JsonNode zero = root.path("zero_optimization");
        JsonNode stageNode = zero.path("stage");
        int stage = stageNode.isMissingNode() ? 0 : stageNode.asInt(-1);
        if (!stageNode.isMissingNode() && (!stageNode.canConvertToInt() || stage < 0 || stage > 3)) {
            throw new UserError("deepspeed: " + path + ": zero_optimization.stage is " + stageNode + "; sft4j runs stages 0 to 3");
        }
        List<String> warnings = new ArrayList<>();
        boolean offload = offloadsToCpu(path, zero, "offload_optimizer");
        if (offloadsToCpu(path, zero, "offload_param")) {
            warnings.add("deepspeed: " + path + ": offload_param is not built: each rank keeps its 16-bit shard of the "
                    + "parameters on its GPU" + (offload ? "; the optimizer state and fp32 master weights are offloaded"
                    : ""));
        }
        if (offload && stage == 0) {
            throw offloadWithoutStage(path);
        }
        List<String> mismatches = new ArrayList<>();
        boolean bf16 = args.precision() == Precision.BF16_MIXED || args.precision() == Precision.BF16_TRUE;
        boolean fp16 = args.precision() == Precision.FP16_MIXED;
        int micro = args.perDeviceTrainBatchSize();
        int accumulation = args.gradientAccumulationSteps();
        Map<String, Object> expected = new java.util.LinkedHashMap<>();
        expected.put("train_micro_batch_size_per_gpu", micro);
        expected.put("gradient_accumulation_steps", accumulation);
        expected.put("train_batch_size", micro * accumulation * world);
        expected.put("gradient_clipping", args.maxGradNorm());
        expected.put("bf16.enabled", bf16);
        expected.put("fp16.enabled", fp16);
        expected.put("optimizer.params.lr", args.learningRate());
        expected.put("optimizer.params.eps", args.adamEpsilon());
        expected.put("optimizer.params.weight_decay", args.weightDecay());
        expected.put("optimizer.params.betas", List.of(args.adamBeta1(), args.adamBeta2()));
        for (Map.Entry<String, Object> e : expected.entrySet()) {
            JsonNode v = at(root, e.getKey());
            if (v.isMissingNode() || v.isNull() || "auto".equals(v.asText())) {
                continue;
            }
            if (!agrees(v, e.getValue())) {
                mismatches.add("- ds " + e.getKey() + "=" + v + " vs sft4j " + e.getValue());
            }
        }
        if (!mismatches.isEmpty()) {
            throw new UserError("deepspeed: " + path + ": these values disagree with the run's settings:\n"
                    + String.join("\n", mismatches) + "\nset them to \"auto\" (they then take the run's values) or change the run's keys");
        }
        String optimizer = root.path("optimizer").path("type").asText("");
        if (!optimizer.isEmpty() && !optimizer.equalsIgnoreCase("AdamW") && !optimizer.equalsIgnoreCase("Adam")) {
            throw new UserError("deepspeed: " + path + ": optimizer.type " + optimizer + " is not supported; sft4j trains with AdamW");
        }
        if (root.has("scheduler")) {
            warnings.add("deepspeed: " + path + ": its scheduler is not used; lr_scheduler_type and warmup set the schedule");
        }
        return new DeepSpeedConfig(stage, offload ? offloadRatio(path, zero) : 0, warnings);
    }

    /** {@code zero_optimization.offload_optimizer.ratio}: the share of the optimizer state offloaded, 1 when absent. */
    private static double offloadRatio(String path, JsonNode zero) {
        JsonNode ratio = zero.path("offload_optimizer").path("ratio");
        if (ratio.isMissingNode() || ratio.isNull()) {
            return 1;
        }
        if (!ratio.isNumber() || !(ratio.doubleValue() >= 0 && ratio.doubleValue() <= 1)) {
            throw new UserError("deepspeed: " + path + ": zero_optimization.offload_optimizer.ratio is " + ratio
                    + "; it is the share of the optimizer state offloaded to the CPU, a number from 0 to 1");
        }
        return ratio.doubleValue();
    }

    private static UserError offloadWithoutStage(String path) {
        return new UserError("deepspeed: " + path + ": zero_optimization.offload_optimizer needs a ZeRO stage (1, 2 or 3); "
                + "zero_optimization.stage is 0");
    }

    /** Whether {@code zero_optimization.<key>.device} is cpu ({@code none} or absent: no; anything else: an error). */
    private static boolean offloadsToCpu(String path, JsonNode zero, String key) {
        String device = zero.path(key).path("device").asText("none");
        return switch (device) {
            case "none" -> false;
            case "cpu" -> true;
            default -> throw new UserError("deepspeed: " + path + ": zero_optimization." + key + ".device is " + device
                    + "; sft4j offloads to cpu only (NVMe offload is not built)");
        };
    }

    private static JsonNode at(JsonNode root, String dotted) {
        JsonNode n = root;
        for (String part : dotted.split("\\.")) {
            n = n.path(part);
        }
        return n;
    }

    private static boolean agrees(JsonNode v, Object expected) {
        if (expected instanceof Boolean b) {
            return v.isBoolean() && v.booleanValue() == b;
        }
        if (expected instanceof List<?> list) {
            if (!v.isArray() || v.size() != list.size()) {
                return false;
            }
            for (int i = 0; i < list.size(); i++) {
                if (!agrees(v.get(i), list.get(i))) {
                    return false;
                }
            }
            return true;
        }
        double want = ((Number) expected).doubleValue();
        return v.isNumber() && Math.abs(v.doubleValue() - want) <= 1e-12 * Math.max(1, Math.abs(want));
    }
}
