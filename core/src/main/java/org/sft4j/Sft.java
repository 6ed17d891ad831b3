package org.sft4j;

import ai.djl.Device;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.sft4j.base.JsonFiles;
import org.sft4j.base.Version;
import org.sft4j.config.SftConfig;
import org.sft4j.data.DataPipeline;
import org.sft4j.data.TokenizedSet;
import org.sft4j.eval.EvalListener;
import org.sft4j.eval.Evaluator;
import org.sft4j.hub.HubClient;
import org.sft4j.hub.Sources;
import org.sft4j.model.Decoder;
import org.sft4j.model.ModelConfig;
import org.sft4j.model.ModelFiles;
import org.sft4j.model.io.SafetensorsWriter;
import org.sft4j.model.io.StDType;
import org.sft4j.model.lora.LoraConfig;
import org.sft4j.nd.Engines;
import org.sft4j.train.Checkpointer;
import org.sft4j.train.Launcher;
import org.sft4j.train.Stoppable;
import org.sft4j.train.TrainListener;
import org.sft4j.train.TrainResult;
import org.sft4j.train.Trainer;
import org.sft4j.train.WorkerEnv;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * The whole job on one page. Each step reads what the step before wrote, so any of them can be rerun
 * or resumed on its own:
 * <pre>
 *   data  : raw files            -> output_dir/data/{train,val}.parquet + report   (DataPipeline)
 *   train : tokenized data+model -> output_dir/checkpoint-N/ + metrics.jsonl       (Trainer)
 *   eval  : checkpoints          -> output_dir/eval/{predictions-*.jsonl, scores.json} (Evaluator)
 * </pre>
 */
public final class Sft {

    private static final ObjectMapper JSON = new ObjectMapper();

    private Sft() {}

    /** Step 1: tokenize, mask, split and write the data (reused when nothing changed). */
    public static DataPipeline.Prepared data(SftConfig cfg, Consumer<DataPipeline.Progress> progress) throws IOException {
        return DataPipeline.prepare(cfg, HubClient.fromEnvironment(), progress);
    }

    /**
     * Step 2: fine-tune. Resumes from {@code resume_from_checkpoint}; {@code started} receives the trainer so a
     * caller can {@link Trainer#requestStop()} it (kernel interrupt, Ctrl-C).
     */
    public static TrainResult train(SftConfig cfg, List<TrainListener> listeners, Consumer<? super Stoppable> started)
            throws IOException {
        HubClient hub = HubClient.fromEnvironment();
        if (cfg.train().outputDir() == null) {
            throw new IllegalArgumentException("training needs output_dir");
        }
        DataPipeline.Prepared data = DataPipeline.prepare(cfg, hub, null);
        TokenizedSet train = TokenizedSet.read(data.train());
        TokenizedSet val = data.report().val > 0 ? TokenizedSet.read(data.val()) : null;
        Path modelDir = Sources.model(cfg.model().modelNameOrPath(), hub);
        Path outDir = Files.createDirectories(Path.of(cfg.train().outputDir()));
        Path resume = Checkpointer.resolveResume(cfg.train().resumeFromCheckpoint(), outDir);
        if (Launcher.wanted(cfg.train())) {
            // data and model are ready (the workers reuse them); one worker JVM per GPU does the training
            return Launcher.run(cfg, listeners, started);
        }
        Device device = Engines.device(cfg.model().device());
        WorkerEnv worker = WorkerEnv.fromEnvironment();
        if (worker != null && device.isGpu()) {
            device = Device.gpu(worker.localRank());
        }
        try (Decoder model = loadForTraining(cfg, modelDir, resume, device)) {
            requireIdsInVocabulary(train, model, cfg);
            if (worker == null || worker.main()) {
                writeRunManifest(cfg, outDir, modelDir, data);
            }
            Trainer trainer = new Trainer(cfg.train(), model, train, val, cfg.data().maxNumTokens(), cfg.data().packing(),
                    modelDir, cfg.model().modelNameOrPath(), resume, listeners);
            if (started != null) {
                started.accept(trainer);
            }
            return trainer.fit();
        }
    }

    /** A tokenizer whose ids pass the model's vocabulary would fail deep in the embedding ("index out of range in self"). */
    private static void requireIdsInVocabulary(TokenizedSet train, Decoder model, SftConfig cfg) {
        int vocab = model.config().vocabSize();
        for (var e : train.examples()) {
            for (int id : e.inputIds()) {
                if (id < 0 || id >= vocab) {
                    throw new IllegalArgumentException("the tokenizer of " + cfg.model().tokenizerSource() + " gives token id "
                            + id + " (example " + e.id() + "), but the model " + cfg.model().modelNameOrPath() + " has "
                            + vocab + " tokens (vocab_size): tokenizer and model do not belong together");
                }
            }
        }
    }

    private static Decoder loadForTraining(SftConfig cfg, Path modelDir, Path resume, Device device) throws IOException {
        if (!cfg.model().lora()) {
            return Decoder.load(resume != null ? resume : modelDir, device);
        }
        Decoder model = Decoder.load(modelDir, device);
        try {
            Path adapter = resume != null ? resume
                    : cfg.model().adapterNameOrPath() != null ? Path.of(cfg.model().adapterNameOrPath()) : null;
            if (adapter != null) {
                ModelFiles.loadAdapter(model, adapter);
            } else {
                model.addLora(new LoraConfig(cfg.model().loraRank(), cfg.model().loraAlpha(), cfg.model().loraDropout(),
                        cfg.model().loraTargets()), cfg.train().seed());
            }
            return model;
        } catch (IOException | RuntimeException e) {
            model.close();
            throw e;
        }
    }

    /** Step 3: evaluate the base model and the checkpoints on the test split. */
    public static Evaluator.Result eval(SftConfig cfg, EvalListener listener) throws IOException {
        return Evaluator.run(cfg, HubClient.fromEnvironment(), listener);
    }

    /** The newest checkpoint the job's training wrote in output_dir (a full model, or a LoRA adapter). */
    public static Path latestCheckpoint(SftConfig cfg) throws IOException {
        Path out = Path.of(java.util.Objects.requireNonNull(cfg.train().outputDir(), "output_dir is not set"));
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
        if (overrides.containsKey("hidden_size") || overrides.containsKey("num_attention_heads")) {
            raw.remove("head_dim");   // derived again from the new width
        }
        raw.put("torch_dtype", "float32");
        ModelConfig cfg = ModelConfig.fromJson(raw);
        try (Decoder d = Decoder.randomInit(cfg, seed, Device.cpu())) {
            return ModelFiles.saveModel(d, out, StDType.F32, tokenizerDir, ModelFiles.DEFAULT_SHARD_BYTES);
        }
    }

    private static void writeRunManifest(SftConfig cfg, Path outDir, Path modelDir, DataPipeline.Prepared data)
            throws IOException {
        ObjectNode run = JSON.createObjectNode();
        run.put("format_version", 1);
        run.put("sft4j", Version.VERSION);
        run.put("started", Instant.now().toString());
        run.put("model_dir", modelDir.toAbsolutePath().toString());
        run.put("data_dir", data.dir().toAbsolutePath().toString());
        run.put("train_examples", data.report().train);
        run.put("val_examples", data.report().val);
        run.set("config", JSON.valueToTree(cfg.values()));
        JsonFiles.writeAtomically(outDir.resolve("run.json"), run);
    }
}
