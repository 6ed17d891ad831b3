package org.sft4j.export;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;
import org.sft4j.base.UserError;
import org.sft4j.config.SftConfig;
import org.sft4j.data.DatasetSpec;
import org.sft4j.data.ExampleReader;
import org.sft4j.format.Example;
import org.sft4j.format.Message;
import org.sft4j.hub.HubClient;
import org.sft4j.model.io.AtomicDirectory;

import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes what LLaMA-Factory needs to run the same job on a cluster that already uses it: the examples as
 * conversations ({@code sft4j_export.jsonl}, sharegpt formatting with role/content tags; an answer's
 * {@code reasoning_content} goes inline as the {@code <think>} block LLaMA-Factory's reasoning templates read, so the
 * text rendered is the one sft4j trained on), their {@code dataset_info.json}, a training YAML with the same settings
 * ({@code enable_thinking} included), and a DeepSpeed ZeRO-3 config.
 * Run there with {@code FORCE_TORCHRUN=1 llamafactory-cli train train.yaml}.
 */
public final class LlamaFactoryExport {

    public static final String DATASET = "sft4j_export";
    private static final ObjectMapper JSON = new ObjectMapper();

    private LlamaFactoryExport() {}

    /** The named templates sft4j shares with LLaMA-Factory (its names for them). */
    private static final Map<String, String> TEMPLATES = Map.of("chatml", "chatml", "qwen", "qwen", "llama3", "llama3",
            "mistral", "mistral", "alpaca", "alpaca", "plain", "default");

    /** Writes the export to {@code out} (atomically) and returns the number of examples written. */
    public static long write(SftConfig cfg, Path out, HubClient hub) throws IOException {
        if (cfg.data().datasets().isEmpty()) {
            throw new UserError("export needs the job's dataset");
        }
        try (AtomicDirectory dir = AtomicDirectory.begin(out)) {
            long n = writeExamples(cfg, dir.path().resolve(DATASET + ".jsonl"), hub);
            writeDatasetInfo(dir.path().resolve("dataset_info.json"));
            writeYaml(cfg, out.toAbsolutePath(), dir.path().resolve("train.yaml"));
            writeDeepSpeed(dir.path().resolve("ds_z3_config.json"));
            Files.writeString(dir.path().resolve("README.md"), "# sft4j job exported for LLaMA-Factory\n\n"
                    + n + " examples in `" + DATASET + ".jsonl` (the conversations sft4j trained on).\n\n"
                    + "```bash\nFORCE_TORCHRUN=1 llamafactory-cli train train.yaml\n```\n");
            dir.commit();
            return n;
        }
    }

    private static long writeExamples(SftConfig cfg, Path file, HubClient hub) throws IOException {
        List<DatasetSpec> specs = new ArrayList<>();
        for (String d : cfg.data().datasets()) {
            specs.add(DatasetSpec.resolve(d, cfg.data()));
        }
        long n = 0;
        try (ExampleReader r = new ExampleReader(specs, cfg.data(), hub);
             BufferedWriter w = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
            while (r.hasNext()) {
                Example e = r.next();
                ObjectNode row = JSON.createObjectNode();
                ArrayNode msgs = row.putArray("messages");
                for (Message m : e.messages()) {
                    msgs.addObject().put("role", m.role()).put("content", inlineReasoning(m));
                }
                w.write(JSON.writeValueAsString(row));
                w.newLine();
                n++;
            }
        }
        return n;
    }

    /**
     * The content with {@code reasoning_content} in front as a think block, as Qwen3's template renders the two
     * ({@code <think>\n} reasoning {@code \n</think>\n\n} answer; LLaMA-Factory's qwen3 template has the same thought
     * words): LLaMA-Factory's sharegpt and openai formats carry role and content only.
     */
    static String inlineReasoning(Message m) {
        if (m.reasoningContent() == null) {
            return m.content();
        }
        return "<think>\n" + m.reasoningContent().replaceAll("^\n+|\n+$", "") + "\n</think>\n\n"
                + m.content().replaceFirst("^\n+", "");
    }

    private static void writeDatasetInfo(Path file) throws IOException {
        ObjectNode info = JSON.createObjectNode();
        ObjectNode d = info.putObject(DATASET);
        d.put("file_name", DATASET + ".jsonl");
        d.put("formatting", "sharegpt");
        d.putObject("columns").put("messages", "messages");
        d.putObject("tags").put("role_tag", "role").put("content_tag", "content").put("user_tag", "user")
                .put("assistant_tag", "assistant").put("system_tag", "system");
        JSON.writerWithDefaultPrettyPrinter().writeValue(file.toFile(), info);
    }

    private static void writeYaml(SftConfig cfg, Path exportDir, Path file) throws IOException {
        Map<String, Object> y = new LinkedHashMap<>();
        y.put("model_name_or_path", cfg.model().modelNameOrPath());
        if (cfg.model().adapterNameOrPath() != null) {
            y.put("adapter_name_or_path", cfg.model().adapterNameOrPath());
        }
        y.put("stage", "sft");
        y.put("do_train", true);
        y.put("finetuning_type", cfg.model().finetuningType());
        if (cfg.model().lora()) {
            y.put("lora_rank", cfg.model().loraRank());
            y.put("lora_alpha", cfg.model().loraAlpha());
            y.put("lora_dropout", cfg.model().loraDropout());
            y.put("lora_target", cfg.model().loraTarget());
        }
        y.put("deepspeed", exportDir.resolve("ds_z3_config.json").toString());
        y.put("dataset", DATASET);
        y.put("dataset_dir", exportDir.toString());
        String t = cfg.model().template();
        if (t != null && TEMPLATES.containsKey(t)) {
            y.put("template", TEMPLATES.get(t));   // unset: LLaMA-Factory reads the tokenizer's own template
        }
        // LLaMA-Factory's key: true, false, or null for its per-example choice (sft4j's auto)
        y.put("enable_thinking", cfg.model().enableThinking().templateKwarg().orElse(null));
        y.put("cutoff_len", cfg.data().cutoffLen());
        y.put("train_on_prompt", cfg.data().trainOnPrompt());
        y.put("mask_history", cfg.data().maskHistory());
        if (cfg.data().valSize() > 0) {
            y.put("val_size", cfg.data().valSize());
        }
        y.put("output_dir", cfg.train().outputDir() == null ? "saves/sft4j" : cfg.train().outputDir());
        y.put("logging_steps", cfg.train().loggingSteps());
        y.put("save_steps", cfg.train().saveSteps());
        if (cfg.train().keepLastNCheckpoints() != null) {
            y.put("save_total_limit", cfg.train().keepLastNCheckpoints());
        }
        y.put("plot_loss", true);
        y.put("per_device_train_batch_size", cfg.train().perDeviceTrainBatchSize());
        y.put("gradient_accumulation_steps", cfg.train().gradientAccumulationSteps());
        y.put("learning_rate", cfg.train().learningRate());
        if (cfg.train().maxSteps() > 0) {
            y.put("max_steps", cfg.train().maxSteps());
        } else {
            y.put("num_train_epochs", cfg.train().numTrainEpochs());
        }
        y.put("lr_scheduler_type", cfg.train().lrSchedulerType());
        if (cfg.train().warmupSteps() > 0) {
            y.put("warmup_steps", cfg.train().warmupSteps());
        } else {
            y.put("warmup_ratio", cfg.train().warmupRatio());
        }
        y.put("weight_decay", cfg.train().weightDecay());
        y.put("max_grad_norm", cfg.train().maxGradNorm());
        y.put("seed", cfg.train().seed());
        // LLaMA-Factory checkpoints activations unless told not to; sft4j only when asked: the same job either way
        y.put("disable_gradient_checkpointing", !Boolean.TRUE.equals(cfg.train().gradientCheckpointing()));
        y.put("bf16", true);
        y.put("ddp_timeout", 180000000);
        ObjectMapper yaml = new ObjectMapper(new YAMLFactory().disable(YAMLGenerator.Feature.WRITE_DOC_START_MARKER));
        Files.writeString(file, "# written by sft4j: the same job for LLaMA-Factory (FORCE_TORCHRUN=1 llamafactory-cli train "
                + "train.yaml)\n" + yaml.writeValueAsString(y));
    }

    /** LLaMA-Factory's examples/deepspeed/ds_z3_config.json. */
    private static void writeDeepSpeed(Path file) throws IOException {
        ObjectNode ds = JSON.createObjectNode();
        ds.put("train_batch_size", "auto");
        ds.put("train_micro_batch_size_per_gpu", "auto");
        ds.put("gradient_accumulation_steps", "auto");
        ds.put("gradient_clipping", "auto");
        ds.put("zero_allow_untested_optimizer", true);
        ObjectNode fp16 = ds.putObject("fp16");
        fp16.put("enabled", "auto").put("loss_scale", 0).put("loss_scale_window", 1000).put("initial_scale_power", 16)
                .put("hysteresis", 2).put("min_loss_scale", 1);
        ds.putObject("bf16").put("enabled", "auto");
        ObjectNode z = ds.putObject("zero_optimization");
        z.put("stage", 3).put("overlap_comm", false).put("contiguous_gradients", true).put("sub_group_size", 1e9)
                .put("reduce_bucket_size", "auto").put("stage3_prefetch_bucket_size", "auto")
                .put("stage3_param_persistence_threshold", "auto").put("stage3_max_live_parameters", 1e9)
                .put("stage3_max_reuse_distance", 1e9).put("stage3_gather_16bit_weights_on_model_save", true);
        JSON.writerWithDefaultPrettyPrinter().writeValue(file.toFile(), ds);
    }
}
