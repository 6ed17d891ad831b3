package org.sft4j.eval;

import ai.djl.Device;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.sft4j.base.JsonFiles;
import org.sft4j.base.TempFiles;
import org.sft4j.base.UserError;
import org.sft4j.config.SftConfig;
import org.sft4j.data.DataPipeline;
import org.sft4j.data.DatasetSpec;
import org.sft4j.data.ExampleReader;
import org.sft4j.data.TokenizedSet;
import org.sft4j.eval.bleu.Bleu;
import org.sft4j.eval.bleu.BleuScore;
import org.sft4j.eval.bleu.Chrf;
import org.sft4j.format.Example;
import org.sft4j.hub.HubClient;
import org.sft4j.hub.Sources;
import org.sft4j.model.Decoder;
import org.sft4j.model.GenerationOptions;
import org.sft4j.model.Generator;
import org.sft4j.model.ModelConfig;
import org.sft4j.model.ModelFiles;
import org.sft4j.model.io.SafetensorsWriter;
import org.sft4j.nd.Engines;
import org.sft4j.read.DataException;
import org.sft4j.template.ChatTemplate;
import org.sft4j.template.NamedTemplates;
import org.sft4j.template.TokenizerConfig;
import org.sft4j.tokenize.SftEncoder;
import org.sft4j.tokenize.Tokenizer;
import org.sft4j.train.Checkpointer;
import org.sft4j.train.Validation;

import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import java.util.TreeSet;

/**
 * Step 3 of a job: for the base model and each checkpoint of a training run, the validation loss and
 * perplexity, then generation on the test split (prompts built with the template's generation prompt,
 * batched, with the KV cache) scored with BLEU and chrF. Predictions go to
 * {@code output_dir/eval/predictions-<model>.jsonl}, scores to {@code output_dir/eval/scores.json}.
 */
public final class Evaluator {

    private static final ObjectMapper JSON = new ObjectMapper();

    private Evaluator() {}

    /** All models' scores and predictions. */
    public record Result(List<Scorecard> cards, Map<String, List<Prediction>> predictions, Path dir) {}

    public static Result run(SftConfig cfg, HubClient hub, EvalListener listener) throws IOException {
        EvalListener l = listener == null ? new EvalListener() { } : listener;
        Path modelDir = Sources.model(require(cfg.model().modelNameOrPath(), "model_name_or_path"), hub);
        Path tokDir = Sources.model(cfg.model().tokenizerSource(), hub);
        TokenizerConfig tcfg = TokenizerConfig.read(tokDir);
        ChatTemplate template = NamedTemplates.resolve(cfg.model(), tcfg, Clock.systemDefaultZone());
        Path outDir = Path.of(require(cfg.train().outputDir(), "output_dir"));
        TokenizedSet val = validationSet(cfg, hub);
        List<Example> test = testExamples(cfg, hub, val);
        List<Model> models = models(cfg, outDir, modelDir);
        Path evalDir = Files.createDirectories(outDir.resolve("eval"));
        List<Scorecard> cards = new ArrayList<>();
        Map<String, List<Prediction>> predictions = new LinkedHashMap<>();
        Device device = Engines.device(cfg.model().device());
        try (Tokenizer tok = Tokenizer.load(tokDir)) {
            SftEncoder encoder = SftEncoder.of(template, tok, tcfg, false, false);
            List<int[]> prompts = new ArrayList<>();
            for (Example e : test) {
                prompts.add(encoder.promptIds(e.prompt(), tok));
            }
            ModelConfig base = ModelConfig.read(modelDir);
            for (int[] p : prompts) {
                Optional<String> outside = GenerationLimits.idOutsideVocabulary(p, base, modelDir.toString());
                if (outside.isPresent()) {
                    throw new UserError("a test prompt tokenized by " + tokDir + " has " + outside.get()
                            + ": the tokenizer and the model do not belong together");
                }
            }
            GenerationLimits.pastPositions(prompts, cfg.eval().maxNewTokens(), base).ifPresent(l::onWarning);
            int[] stopIds = stopIds(template, tok, modelDir);
            int padId = tok.tokenId(tcfg.specialTokens().getOrDefault("pad_token", "")).orElse(stopIds.length > 0 ? stopIds[0] : 0);
            for (int k = 0; k < models.size(); k++) {
                Model m = models.get(k);
                l.onModelStart(m.name(), k, models.size());
                try (Decoder d = m.load(device)) {
                    double valLoss = val == null ? Double.NaN
                            : Validation.meanLoss(d, val, cfg.train().perDeviceEvalBatchSize(), cfg.train().lossChunkRows());
                    List<Prediction> preds = generate(d, tok, test, prompts, stopIds, padId, cfg, m.name(), l);
                    Path file = writePredictions(evalDir.resolve("predictions-" + m.name() + ".jsonl"), preds);
                    // a reasoning model's answer is scored, not its think block (ReasoningAnswers)
                    List<String> hyps = preds.stream().map(p -> ReasoningAnswers.answer(p.hypothesis())).toList();
                    List<String> refs = preds.stream().map(p -> ReasoningAnswers.answer(p.reference())).toList();
                    BleuScore bleu = Bleu.builder().tokenize(cfg.eval().bleuTokenize()).build().corpusScore(hyps, List.of(refs));
                    double chrf = Chrf.chrf().corpusScore(hyps, List.of(refs)).score();
                    Scorecard card = new Scorecard(m.name(), m.step(), valLoss, Math.exp(valLoss), bleu.score(), chrf,
                            bleu.signature(), preds.size(), file);
                    cards.add(card);
                    predictions.put(m.name(), preds);
                    l.onScored(card);
                }
            }
        }
        writeScores(evalDir.resolve("scores.json"), cards);
        return new Result(cards, predictions, evalDir);
    }

    private static List<Prediction> generate(Decoder d, Tokenizer tok, List<Example> test, List<int[]> prompts, int[] stopIds,
                                             int padId, SftConfig cfg, String name, EvalListener l) {
        GenerationOptions opt = new GenerationOptions(cfg.eval().maxNewTokens(), !cfg.eval().doSample(),
                cfg.eval().temperature(), cfg.eval().topP(), cfg.train().seed(), stopIds, padId, true);
        Generator gen = new Generator(d);
        List<Prediction> out = new ArrayList<>();
        int bs = cfg.train().perDeviceEvalBatchSize();
        for (int s = 0; s < prompts.size(); s += bs) {
            List<int[]> batch = prompts.subList(s, Math.min(prompts.size(), s + bs));
            List<Generator.Output> res = gen.generate(batch, opt, null);
            for (int i = 0; i < res.size(); i++) {
                Example e = test.get(s + i);
                out.add(new Prediction(e.id(), e.source(), e.reference(), decode(tok, res.get(i), stopIds), name));
            }
            l.onGenerated(name, out.size(), prompts.size());
        }
        return out;
    }

    /** The answer text: stop tokens cut, special tokens skipped, surrounding whitespace trimmed. */
    static String decode(Tokenizer tok, Generator.Output o, int[] stopIds) {
        int[] t = o.tokens();
        int n = t.length;
        while (n > 0 && isStop(t[n - 1], stopIds)) {
            n--;
        }
        return tok.decode(Arrays.copyOf(t, n), true).strip();
    }

    private static boolean isStop(int id, int[] stopIds) {
        for (int s : stopIds) {
            if (s == id) {
                return true;
            }
        }
        return false;
    }

    static int[] stopIds(ChatTemplate template, Tokenizer tok, Path modelDir) throws IOException {
        Set<Integer> ids = new TreeSet<>();
        for (String s : template.endOfTurnTokens()) {
            OptionalInt id = tok.tokenId(s);
            id.ifPresent(ids::add);
        }
        Path gen = modelDir.resolve("generation_config.json");
        if (Files.exists(gen)) {
            for (int id : org.sft4j.model.TokenIds.of(JsonFiles.read(gen).path("eos_token_id"))) {
                ids.add(id);
            }
        }
        if (ids.isEmpty()) {
            throw new UserError("the model has no end token to stop generation (no eos_token and the template "
                    + "names none)");
        }
        return ids.stream().mapToInt(Integer::intValue).toArray();
    }

    /** A model to evaluate: the base, or a checkpoint (full weights, or an adapter on the base). */
    record Model(String name, int step, Path weights, Path adapter) {
        Decoder load(Device device) throws IOException {
            Decoder d = Decoder.load(weights, device);
            if (adapter != null) {
                ModelFiles.loadAdapter(d, adapter);
            }
            return d;
        }
    }

    static List<Model> models(SftConfig cfg, Path outDir, Path base) throws IOException {
        List<Model> models = new ArrayList<>();
        Path baseAdapter = cfg.model().adapterNameOrPath() == null ? null : Path.of(cfg.model().adapterNameOrPath());
        if (cfg.eval().evalBase()) {
            models.add(new Model("base", 0, base, baseAdapter));
        }
        List<Path> ckpts = Checkpointer.list(outDir);
        String which = cfg.eval().evalCheckpoints();
        if (which.equals("last") && !ckpts.isEmpty()) {
            ckpts = List.of(ckpts.get(ckpts.size() - 1));
        } else if (!which.equals("all") && !which.equals("last")) {
            Set<Integer> steps = new TreeSet<>();
            for (String s : which.split(",")) {
                steps.add(Integer.parseInt(s.trim()));
            }
            List<Path> chosen = new ArrayList<>();
            for (int step : steps) {
                Path p = outDir.resolve("checkpoint-" + step);
                if (!ckpts.contains(p)) {
                    throw new IOException("eval_checkpoints names step " + step + ", but " + p + " is not a complete checkpoint; "
                            + "there are " + ckpts.stream().map(c -> c.getFileName().toString()).toList());
                }
                chosen.add(p);
            }
            ckpts = chosen;
        }
        for (Path c : ckpts) {
            boolean adapter = Files.exists(c.resolve("adapter_config.json"));
            models.add(new Model(c.getFileName().toString(), Checkpointer.stepOf(c), adapter ? base : c, adapter ? c : null));
        }
        if (models.isEmpty()) {
            throw new IOException("nothing to evaluate: " + outDir + " has no checkpoint and eval_base is false");
        }
        return models;
    }

    /** test_dataset, else eval_dataset, else the validation examples of the training data (same split as the data step). */
    static List<Example> testExamples(SftConfig cfg, HubClient hub) throws IOException {
        return testExamples(cfg, hub, validationSet(cfg, hub));
    }

    private static List<Example> testExamples(SftConfig cfg, HubClient hub, TokenizedSet val) throws IOException {
        List<String> names = !cfg.data().testDatasets().isEmpty() ? cfg.data().testDatasets() : cfg.data().evalDatasets();
        boolean fromTrain = names.isEmpty();
        if (fromTrain) {
            if (cfg.data().valSize() <= 0) {
                throw new UserError("no test split: set test_dataset, eval_dataset or val_size");
            }
            names = cfg.data().datasets();
        }
        Integer max = cfg.eval().evalMaxSamples();
        List<Example> out = new ArrayList<>();
        List<DatasetSpec> specs = new ArrayList<>();
        for (String n : names) {
            specs.add(DatasetSpec.resolve(n, cfg.data()));
        }
        java.util.Set<String> heldOut = new java.util.HashSet<>();   // the ids the data step held out (val_size)
        if (fromTrain && val != null) {
            val.examples().forEach(e -> heldOut.add(e.id()));
        }
        try (ExampleReader r = new ExampleReader(specs, cfg.data(), hub)) {
            while (r.hasNext() && (max == null || out.size() < max)) {
                Example e = r.next();
                if (fromTrain && !heldOut.contains(e.id())) {
                    continue;
                }
                if (!e.reference().isBlank()) {
                    out.add(e);
                }
            }
        }
        if (out.isEmpty()) {
            throw new DataException(names.toString(), "the test split has no example with a reference answer");
        }
        return out;
    }

    private static TokenizedSet validationSet(SftConfig cfg, HubClient hub) throws IOException {
        if (cfg.data().datasets().isEmpty()) {
            return null;
        }
        DataPipeline.Prepared p = DataPipeline.prepare(cfg, hub, null);
        if (!Files.exists(p.val()) || p.report().val == 0) {
            return null;
        }
        return TokenizedSet.read(p.val());
    }

    private static Path writePredictions(Path file, List<Prediction> preds) throws IOException {
        TempFiles.write(file, tmp -> {
            try (BufferedWriter w = Files.newBufferedWriter(tmp, StandardCharsets.UTF_8)) {
                for (Prediction p : preds) {
                    w.write(JSON.writeValueAsString(p));
                    w.newLine();
                }
            }
        });
        return file;
    }

    private static void writeScores(Path file, List<Scorecard> cards) throws IOException {
        ArrayNode arr = JSON.createArrayNode();
        for (Scorecard c : cards) {
            ObjectNode o = arr.addObject();
            o.put("model", c.name());
            o.put("step", c.step());
            o.put("val_loss", c.valLoss());
            o.put("perplexity", c.perplexity());
            o.put("bleu", c.bleu());
            o.put("chrf", c.chrf());
            o.put("bleu_signature", c.bleuSignature());
            o.put("examples", c.examples());
            o.put("predictions", c.predictions().toString());
        }
        JsonFiles.writeAtomically(file, arr);
    }

    private static String require(String v, String key) {
        if (v == null || v.isBlank()) {
            throw new UserError("evaluation needs " + key);
        }
        return v;
    }

}
