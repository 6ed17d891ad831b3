package org.sft4j.config;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import org.sft4j.base.UserError;

import java.io.IOException;
import java.lang.reflect.RecordComponent;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The one configuration of a job, with LLaMA-Factory's key names (fairseq2's where LLaMA-Factory has
 * none). It reads YAML or JSON and magic flags alike; keys of those tools that do not apply here
 * (plot_loss, report_to, ...) load with a warning, unknown keys fail with a suggestion.
 *
 * <p>Immutable: {@link #with(String, Object)} returns a new config, so re-running a notebook cell never
 * changes another cell's job.
 */
public final class SftConfig {

    /** Other tools' names for our keys. */
    static final Map<String, String> ALIASES = Map.ofEntries(
            Map.entry("save_total_limit", "keep_last_n_checkpoints"),
            Map.entry("eval_steps", "validate_every_n_steps"),
            Map.entry("max_seq_len", "cutoff_len"),
            Map.entry("num_steps", "max_steps"),
            Map.entry("checkpoint_every_n_steps", "save_steps"),
            Map.entry("batch_size", "per_device_train_batch_size"),
            Map.entry("lr", "learning_rate"),
            Map.entry("model", "model_name_or_path"),
            Map.entry("max_length", "cutoff_len"));

    /** Keys of LLaMA-Factory / HF Trainer / fairseq2 that load with a warning because sft4j does not use them. */
    static final Set<String> NOT_APPLICABLE = Set.of("preprocessing_num_workers",
            "overwrite_cache", "plot_loss", "report_to", "flash_attn", "trust_remote_code",
            "dataloader_num_workers", "ddp_find_unused_parameters", "save_only_model", "logging_dir", "run_name",
            "use_fast_tokenizer", "do_eval", "do_predict", "eval_strategy",
            "logging_strategy", "include_num_input_tokens_seen", "disable_tqdm", "optim", "lr_scheduler_kwargs",
            "ddp_backend", "fsdp", "fsdp_config", "torch_compile", "enable_liger_kernel", "use_unsloth", "quantization_bit",
            "add_special_tokens", "resize_vocab", "neat_packing", "mix_strategy", "streaming", "buffer_size",
            "predict_with_generate", "load_best_model_at_end", "metric_for_best_model", "push_to_hub", "hub_model_id",
            "print_param_status", "upcast_layernorm", "tokenized_path_overwrite", "cache_dir", "dataloader_pin_memory");

    private static final ObjectMapper JSON = new ObjectMapper().configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false)
            .configure(DeserializationFeature.ACCEPT_FLOAT_AS_INT, false);   // max_steps: 2.5 is an error, not 2
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory())
            .enable(com.fasterxml.jackson.core.JsonParser.Feature.STRICT_DUPLICATE_DETECTION);   // a key set twice is a mistake
    private static final Set<String> KNOWN = known();

    private final Map<String, Object> values;
    /** Where each key was set (a file, a cell, a flag), to name it in errors. */
    private final Map<String, String> origins;
    private final List<String> warnings;
    private final ModelArgs model;
    private final DataArgs data;
    private final TrainArgs train;
    private final EvalArgs eval;

    private SftConfig(Map<String, Object> values, Map<String, String> origins, List<String> warnings) {
        this.values = Collections.unmodifiableMap(values);
        this.origins = Map.copyOf(origins);
        this.warnings = List.copyOf(warnings);
        try {
            this.model = JSON.convertValue(values, ModelArgs.class);
            this.data = JSON.convertValue(values, DataArgs.class);
            this.train = JSON.convertValue(values, TrainArgs.class);
            this.eval = JSON.convertValue(values, EvalArgs.class);
        } catch (IllegalArgumentException e) {
            throw ConfigErrors.conversion(e, values, this.origins);
        }
        List<ConfigChecks.Problem> problems = ConfigChecks.find(model, data, train, eval, values.keySet());
        if (!problems.isEmpty()) {
            throw ConfigErrors.invalid(problems, this.origins);
        }
    }

    /** An empty config: every default. */
    public static SftConfig defaults() {
        return of(Map.of());
    }

    /** A config from flat key/values (magic flags, Java maps); values may be strings. */
    public static SftConfig of(Map<String, ?> raw) {
        Map<String, Object> values = new LinkedHashMap<>();
        Map<String, String> origins = new LinkedHashMap<>();
        List<String> warnings = new ArrayList<>();
        raw.forEach((k, v) -> put(values, origins, warnings, k, v, "config"));
        return new SftConfig(values, origins, warnings);
    }

    /** Reads a YAML (or JSON) file such as LLaMA-Factory's training YAMLs. */
    public static SftConfig read(Path file) throws IOException {
        if (!Files.exists(file)) {
            throw new UserError("config file " + file + " does not exist");
        }
        String text = Files.readString(file);
        if (text.isBlank()) {
            throw new IOException(file + ": the config file is empty");
        }
        return parse(text, file.toString());
    }

    /** Parses YAML text (a {@code %%sft.train} cell body); {@code where} names it in errors. */
    public static SftConfig parse(String yaml, String where) {
        JsonNode root;
        try {
            root = YAML.readTree(yaml);
        } catch (IOException e) {
            throw new UserError(yamlError(where, e), e);
        }
        if (root == null || root.isMissingNode() || root.isNull()) {
            return defaults();
        }
        if (!root.isObject()) {
            throw new UserError(where + ": the config must be a mapping of keys to values");
        }
        Map<String, Object> values = new LinkedHashMap<>();
        Map<String, String> origins = new LinkedHashMap<>();
        List<String> warnings = new ArrayList<>();
        root.fields().forEachRemaining(e -> put(values, origins, warnings, e.getKey(),
                JSON.convertValue(e.getValue(), Object.class), where));
        return new SftConfig(values, origins, warnings);
    }

    /** "FILE:LINE:COLUMN: not valid YAML: what", without the parser's "Source: (StringReader)" lines. */
    private static String yamlError(String where, IOException e) {
        if (!(e instanceof com.fasterxml.jackson.core.JsonProcessingException p)) {
            return where + ": not valid YAML: " + e.getMessage();
        }
        var l = p.getLocation();
        String what = p.getOriginalMessage().replaceAll("\\s+", " ")
                .replaceAll(" in 'reader', line \\d+, column \\d+:.*?\\^", "").strip();
        if (what.startsWith("Duplicate field")) {
            what = "a key is set twice: " + what.substring(what.indexOf('\'')).replace("'", "") + " (keep one)";
        }
        return where + (l != null && l.getLineNr() > 0 ? ":" + l.getLineNr() + ":" + l.getColumnNr() : "") + ": not valid YAML: "
                + what;
    }

    private static void put(Map<String, Object> values, Map<String, String> origins, List<String> warnings, String key,
                            Object value, String where) {
        String k = key.replace('-', '_');
        if (NOT_APPLICABLE.contains(k)) {
            warnings.add(where + ": key '" + k + "' does not apply to sft4j and is ignored");
            return;
        }
        k = ALIASES.getOrDefault(k, k);
        if (!KNOWN.contains(k)) {
            throw new UserError(where + ": unknown key '" + key + "'" + suggestion(k));
        }
        if (k.equals("stage") && value != null && !"sft".equals(String.valueOf(value))) {
            throw new UserError(where + ": stage '" + value + "' is not supported; sft4j does sft");
        }
        if (k.equals("enable_thinking") && value == null) {
            value = "auto";   // LLaMA-Factory's enable_thinking: null, kept apart from a key left out (true)
        }
        values.put(k, value);
        origins.put(k, where);
    }

    private static String suggestion(String k) {
        String best = null;
        int bestD = Integer.MAX_VALUE;
        for (String c : KNOWN) {
            int d = distance(k, c);
            if (d < bestD) {
                bestD = d;
                best = c;
            }
        }
        return bestD <= Math.max(2, k.length() / 4) ? " (did you mean '" + best + "'?)" : "";
    }

    private static int distance(String a, String b) {
        int[] prev = new int[b.length() + 1];
        int[] cur = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) {
            prev[j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            cur[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                cur[j] = Math.min(Math.min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1));
            }
            int[] t = prev;
            prev = cur;
            cur = t;
        }
        return prev[b.length()];
    }

    private static Set<String> known() {
        Set<String> k = new TreeSet<>(List.of("stage", "do_train"));
        for (Class<?> c : List.of(ModelArgs.class, DataArgs.class, TrainArgs.class, EvalArgs.class)) {
            for (RecordComponent rc : c.getRecordComponents()) {
                k.add(keyOf(rc));
            }
        }
        return k;
    }

    /** The YAML key of a record component: its {@code @JsonProperty}, else Jackson's snake_case of its name. */
    static String keyOf(RecordComponent rc) {
        try {
            // @JsonProperty has no RECORD_COMPONENT target: it is found on the record's field
            var jp = rc.getDeclaringRecord().getDeclaredField(rc.getName())
                    .getAnnotation(com.fasterxml.jackson.annotation.JsonProperty.class);
            if (jp != null) {
                return jp.value();
            }
        } catch (NoSuchFieldException e) {
            throw new IllegalStateException(e);
        }
        return new com.fasterxml.jackson.databind.PropertyNamingStrategies.SnakeCaseStrategy().translate(rc.getName());
    }

    /** Every key sft4j understands (for help and completion). */
    public static Set<String> knownKeys() {
        return Collections.unmodifiableSet(KNOWN);
    }

    /** A copy with {@code key} set (aliases and validation as when reading); a null value is YAML's null. */
    public SftConfig with(String key, Object value) {
        return withAll(Collections.singletonMap(key, value), "config");   // Map.of refuses null (enable_thinking: null)
    }

    /** A copy with every entry of {@code overrides} set. */
    public SftConfig withAll(Map<String, ?> overrides) {
        return withAll(overrides, "config");
    }

    /** A copy with command-line or magic flags set; errors name the flag ({@code --learning_rate}). */
    public SftConfig withFlags(Map<String, ?> flags) {
        return withAll(flags, null);
    }

    /** A copy with every entry set at once (checked together), {@code where} naming them in errors (null: as a flag). */
    public SftConfig withAll(Map<String, ?> overrides, String where) {
        if (overrides.isEmpty()) {
            return this;
        }
        Map<String, Object> next = new LinkedHashMap<>(values);
        Map<String, String> o = new LinkedHashMap<>(origins);
        List<String> w = new ArrayList<>(warnings);
        overrides.forEach((k, v) -> put(next, o, w, k, v, where != null ? where : "--" + k.replace('-', '_')));
        return new SftConfig(next, o, w);
    }

    /**
     * The same job at smoke size, for a run that only checks that everything works (the notebooks under the test
     * suite's {@code SFT4J_SMOKE}): at most 600 examples, 12 steps with a checkpoint and a validation every 6,
     * 12 test examples of at most 48 new tokens, a held-out count of at most 40, and {@code -smoke} after output_dir so a
     * real run's files are left alone. Applying it twice changes nothing more.
     */
    public SftConfig smoke() {
        Map<String, Object> s = new LinkedHashMap<>();
        int steps = train.maxSteps() > 0 ? Math.min(train.maxSteps(), SMOKE_STEPS) : SMOKE_STEPS;
        s.put("max_samples", data.maxSamples() == null ? 600 : Math.min(data.maxSamples(), 600));
        if (data.valSize() >= 1) {
            s.put("val_size", Math.min(data.valSize(), 40));
        }
        s.put("max_steps", steps);
        s.put("save_steps", Math.max(1, steps / 2));
        if (train.validateEveryNSteps() > 0) {
            s.put("validate_every_n_steps", Math.max(1, steps / 2));
        }
        s.put("warmup_steps", Math.min(train.warmupSteps(), 2));
        s.put("eval_max_samples", eval.evalMaxSamples() == null ? 12 : Math.min(eval.evalMaxSamples(), 12));
        s.put("max_new_tokens", Math.min(eval.maxNewTokens(), 48));   // long enough to show what a base model rambles
        if (train.outputDir() != null && !train.outputDir().endsWith("-smoke")) {
            s.put("output_dir", train.outputDir() + "-smoke");
        }
        return withAll(s, "SFT4J_SMOKE");
    }

    private static final int SMOKE_STEPS = 12;

    public Map<String, Object> values() {
        return values;
    }

    public List<String> warnings() {
        return warnings;
    }

    public ModelArgs model() {
        return model;
    }

    public DataArgs data() {
        return data;
    }

    public TrainArgs train() {
        return train;
    }

    public EvalArgs eval() {
        return eval;
    }

    /** The config as YAML, keys in the order they were given. */
    public String toYaml() {
        try {
            return YAML.writeValueAsString(values);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public String toString() {
        return values.toString();
    }
}
