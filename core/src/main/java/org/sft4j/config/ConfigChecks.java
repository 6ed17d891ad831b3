package org.sft4j.config;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Values no one can mean, refused before any work (a negative learning rate trains "fine" and rises):
 * each check names its key and what it accepts. The limits follow the reference implementations
 * (torch.optim.AdamW's argument checks, HF Trainer's {@code max_steps: -1} for "by epochs").
 */
final class ConfigChecks {

    /** One value out of range: the key it belongs to and the sentence that says so. */
    record Problem(String key, String message) {}

    private final List<Problem> problems = new ArrayList<>();

    private ConfigChecks() {}

    static List<Problem> find(ModelArgs m, DataArgs d, TrainArgs t, EvalArgs e, Set<String> given) {
        ConfigChecks c = new ConfigChecks();
        c.positive("learning_rate", t.learningRate());
        c.atLeast("per_device_train_batch_size", t.perDeviceTrainBatchSize(), 1);
        c.atLeast("per_device_eval_batch_size", t.perDeviceEvalBatchSize(), 1);
        c.atLeast("gradient_accumulation_steps", t.gradientAccumulationSteps(), 1);
        if (t.maxSteps() == 0 || t.maxSteps() < -1) {
            c.add("max_steps", "max_steps must be at least 1 (or -1, or left out, to train by num_train_epochs), got "
                    + t.maxSteps());
        }
        if (t.maxSteps() <= 0 || given.contains("num_train_epochs")) {
            c.positive("num_train_epochs", t.numTrainEpochs());
        }
        if (t.warmupRatio() < 0 || t.warmupRatio() >= 1 || !Double.isFinite(t.warmupRatio())) {
            c.add("warmup_ratio", "warmup_ratio must be in [0, 1), got " + t.warmupRatio());
        }
        c.atLeast("warmup_steps", t.warmupSteps(), 0);
        c.nonNegative("weight_decay", t.weightDecay());
        c.fraction("adam_beta1", t.adamBeta1());
        c.fraction("adam_beta2", t.adamBeta2());
        c.nonNegative("adam_epsilon", t.adamEpsilon());
        c.nonNegative("max_grad_norm", t.maxGradNorm());
        c.atLeast("logging_steps", t.loggingSteps(), 1);
        c.atLeast("save_steps", t.saveSteps(), 1);
        if (t.keepLastNCheckpoints() != null) {
            c.atLeast("keep_last_n_checkpoints", t.keepLastNCheckpoints(), 1);
        }
        c.atLeast("validate_every_n_steps", t.validateEveryNSteps(), 0);
        c.atLeast("loss_chunk_rows", t.lossChunkRows(), 1);
        c.oneOf("save_dtype", t.saveDtype(), "auto", "float32", "bfloat16", "float16", "fp32", "bf16", "fp16");
        c.atLeast("nproc_per_node", t.nprocPerNode(), 1);
        c.atLeast("nnodes", t.nnodes(), 1);
        if (t.nodeRank() < 0 || t.nodeRank() >= t.nnodes()) {
            c.add("node_rank", "node_rank must be in [0, nnodes = " + t.nnodes() + "), got " + t.nodeRank());
        }
        if (t.masterPort() < 1 || t.masterPort() > 65535) {
            c.add("master_port", "master_port must be a TCP port (1 to 65535), got " + t.masterPort());
        }

        if (!ModelArgs.isDevice(m.device())) {
            c.add("device", "device must be auto, cpu, gpu or gpu:N, got '" + m.device() + "'");
        }
        c.atLeast("lora_rank", m.loraRank(), 1);
        c.positive("lora_alpha", m.loraAlpha());
        if (m.loraDropout() < 0 || m.loraDropout() >= 1 || !Double.isFinite(m.loraDropout())) {
            c.add("lora_dropout", "lora_dropout must be in [0, 1), got " + m.loraDropout());
        }

        c.atLeast("cutoff_len", d.cutoffLen(), 1);
        c.atLeast("min_seq_len", d.minSeqLen(), 0);
        if (d.cutoffLen() >= 1 && d.minSeqLen() > d.cutoffLen()) {
            c.add(given.contains("min_seq_len") ? "min_seq_len" : "cutoff_len", "min_seq_len (" + d.minSeqLen()
                    + ") is above cutoff_len (" + d.cutoffLen() + "): no example could be kept");
        }
        if (d.maxSamples() != null) {
            c.atLeast("max_samples", d.maxSamples(), 1);
        }
        if (d.maxNumTokens() != null) {
            c.atLeast("max_num_tokens", d.maxNumTokens(), 1);
        }
        double v = d.valSize();
        if (!Double.isFinite(v) || v < 0 || (v >= 1 && v != Math.rint(v))) {
            c.add("val_size", "val_size must be a fraction in [0, 1) or a whole number of examples, got " + v);
        }

        c.atLeast("max_new_tokens", e.maxNewTokens(), 1);
        if (e.doSample()) {
            c.positive("temperature", e.temperature());
        }
        if (!(e.topP() > 0 && e.topP() <= 1)) {
            c.add("top_p", "top_p must be in (0, 1], got " + e.topP());
        }
        if (e.evalMaxSamples() != null) {
            c.atLeast("eval_max_samples", e.evalMaxSamples(), 1);
        }
        c.atLeast("samples", e.samples(), 0);
        c.oneOf("bleu_tokenize", e.bleuTokenize(), "13a", "intl", "zh", "char", "none");
        return c.problems;
    }

    private void add(String key, String message) {
        problems.add(new Problem(key, message));
    }

    private void positive(String key, double v) {
        if (!(v > 0) || !Double.isFinite(v)) {
            add(key, key + " must be a positive number, got " + v);
        }
    }

    private void nonNegative(String key, double v) {
        if (!(v >= 0) || !Double.isFinite(v)) {
            add(key, key + " must be a number >= 0, got " + v);
        }
    }

    private void fraction(String key, double v) {
        if (!(v >= 0 && v < 1)) {
            add(key, key + " must be in [0, 1), got " + v);
        }
    }

    private void atLeast(String key, long v, long min) {
        if (v < min) {
            add(key, key + " must be at least " + min + ", got " + v);
        }
    }

    private void oneOf(String key, String v, String... allowed) {
        if (!List.of(allowed).contains(v)) {
            add(key, key + " must be one of " + String.join(", ", allowed) + ", got '" + v + "'");
        }
    }
}
