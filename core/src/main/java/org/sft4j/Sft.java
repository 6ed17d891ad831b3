package org.sft4j;

import ai.djl.Device;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.sft4j.base.JsonFiles;
import org.sft4j.config.SftConfig;
import org.sft4j.data.DataPipeline;
import org.sft4j.eval.EvalListener;
import org.sft4j.eval.Evaluator;
import org.sft4j.hub.HubClient;
import org.sft4j.model.ArchitectureCheck;
import org.sft4j.model.Decoder;
import org.sft4j.model.ModelConfig;
import org.sft4j.model.ModelFiles;
import org.sft4j.model.io.StDType;
import org.sft4j.train.Checkpointer;
import org.sft4j.train.Stoppable;
import org.sft4j.train.TrainListener;
import org.sft4j.train.TrainResult;
import org.sft4j.train.TrainSetup;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * The whole job on one page. Each step reads what the step before wrote, so any of them can be rerun
 * or resumed on its own:
 * <pre>
 *   data  : raw files            -> output_dir/data/{train,val}.parquet + report   (DataPipeline)
 *   train : tokenized data+model -> output_dir/checkpoint-N/ + metrics.jsonl       (TrainSetup, then Trainer)
 *   eval  : checkpoints          -> output_dir/eval/{predictions-*.jsonl, scores.json} (Evaluator)
 * </pre>
 */
public final class Sft {

    private static final ObjectMapper JSON = new ObjectMapper();

    private Sft() {}

    /**
     * Step 1: tokenize, mask, split and write the data (reused when nothing changed). The model's config.json is read
     * first: an architecture sft4j does not implement fails before the data is touched.
     */
    public static DataPipeline.Prepared data(SftConfig cfg, Consumer<DataPipeline.Progress> progress) throws IOException {
        HubClient hub = HubClient.fromEnvironment();
        ArchitectureCheck.run(cfg.model(), hub);
        return DataPipeline.prepare(cfg, hub, progress);
    }

    /**
     * Step 2: fine-tune. {@link TrainSetup} builds the run (output_dir, resume, data, model at its precision, worker
     * processes, optimizer) and the {@link org.sft4j.train.Trainer} steps it; {@code started} receives what can be
     * asked to stop at the next step boundary (kernel interrupt, Ctrl-C, SIGTERM), and may be null.
     */
    public static TrainResult train(SftConfig cfg, List<TrainListener> listeners, Consumer<? super Stoppable> started)
            throws IOException {
        return TrainSetup.run(cfg, HubClient.fromEnvironment(), listeners, started == null ? t -> { } : started);
    }

    /** Step 3: evaluate the base model and the checkpoints on the test split (the model's architecture checked first). */
    public static Evaluator.Result eval(SftConfig cfg, EvalListener listener) throws IOException {
        HubClient hub = HubClient.fromEnvironment();
        ArchitectureCheck.run(cfg.model(), hub);
        return Evaluator.run(cfg, hub, listener);
    }

    /** The newest checkpoint the job's training wrote in output_dir (a full model, or a LoRA adapter). */
    public static Path latestCheckpoint(SftConfig cfg) throws IOException {
        if (cfg.train().outputDir() == null) {
            throw new org.sft4j.base.UserError("output_dir is not set: there is no training run to take a checkpoint from");
        }
        Path out = Path.of(cfg.train().outputDir());
        List<Path> all = Checkpointer.list(out);
        if (all.isEmpty()) {
            throw new IOException(out + " has no checkpoint yet: train first");
        }
        return all.get(all.size() - 1);
    }

    /**
     * Folds a LoRA adapter into its base model and writes a plain Hugging Face checkpoint to {@code out}
     * ({@code saveDtype} as the save_dtype key: auto, float32, bfloat16, float16), checking on a probe that the
     * merged model's logits are base+adapter's.
     */
    public static org.sft4j.export.MergedAdapter mergeAdapter(Path base, Path adapter, Path out, String saveDtype)
            throws IOException {
        return org.sft4j.export.MergedAdapter.write(base, adapter, out, saveDtype);
    }

    /**
     * Writes a model with freshly initialised weights: the architecture of {@code configJson} with
     * {@code overrides} (e.g. a smaller hidden_size), the tokenizer files of {@code tokenizerDir}.
     */
    public static Path initModel(Path configJson, Map<String, Object> overrides, Path tokenizerDir, Path out, long seed)
            throws IOException {
        ObjectNode raw = (ObjectNode) JsonFiles.read(configJson);
        overrides.forEach((k, v) -> raw.set(k, JSON.valueToTree(v)));
        if ((overrides.containsKey("hidden_size") || overrides.containsKey("num_attention_heads"))
                && !overrides.containsKey("head_dim")) {
            raw.remove("head_dim");   // derived again from the new width
        }
        if (overrides.containsKey("num_hidden_layers") && !overrides.containsKey("layer_types")) {
            raw.remove("layer_types");   // derived again for the new depth, as transformers does when it is absent
        }
        raw.put("torch_dtype", "float32");
        ModelConfig cfg = ModelConfig.fromJson(raw);
        try (Decoder d = Decoder.randomInit(cfg, seed, Device.cpu())) {
            return ModelFiles.saveModel(d, out, StDType.F32, tokenizerDir, ModelFiles.DEFAULT_SHARD_BYTES);
        }
    }
}
