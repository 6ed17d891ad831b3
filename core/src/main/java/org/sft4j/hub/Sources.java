package org.sft4j.hub;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;

/** Turns what a user wrote for a model or dataset (a path, {@code hf://...}, {@code OWNER/NAME}) into local files. */
public final class Sources {

    /** The files of a model repository that loading, training and saving need. */
    private static final Set<String> MODEL_FILES = Set.of("config.json", "generation_config.json",
            "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.json", "merges.txt",
            "tokenizer.model", "added_tokens.json", "chat_template.jinja", "model.safetensors.index.json",
            "adapter_config.json", "adapter_model.safetensors");

    private Sources() {}

    /**
     * A local model directory for {@code name}: an existing path as is, else {@code hf://OWNER/MODEL} or a
     * bare {@code OWNER/MODEL} fetched through the Hub into its cache.
     */
    public static Path model(String name, HubClient hub) throws IOException {
        Path local = Path.of(name.replaceFirst("^file://", ""));
        if (Files.exists(local)) {
            return local;
        }
        return fromHub(name, local, hub, f -> MODEL_FILES.contains(f) || f.matches("model(-\\d+-of-\\d+)?\\.safetensors"));
    }

    /**
     * Only the {@code config.json} of model {@code name} (a local directory's, or fetched alone from the Hub), so what
     * the model is can be known before anything else is read; null when a local directory has none.
     */
    public static Path modelConfig(String name, HubClient hub) throws IOException {
        Path local = Path.of(name.replaceFirst("^file://", ""));
        if (Files.exists(local)) {
            Path f = Files.isDirectory(local) ? local.resolve("config.json") : local;
            return Files.exists(f) ? f : null;
        }
        return fromHub(name, local, hub, f -> f.equals("config.json")).resolve("config.json");
    }

    /** The files of model {@code name} that {@code wanted} picks, from the Hub; {@code local} is where it was not. */
    private static Path fromHub(String name, Path local, HubClient hub, java.util.function.Predicate<String> wanted)
            throws IOException {
        String uri = HubUri.isHub(name) ? name : looksLikeRepo(name) ? "hf://" + name : null;
        if (uri == null) {
            throw new IOException("model '" + name + "' is neither an existing path nor a Hub repo (OWNER/NAME or hf://OWNER/NAME)");
        }
        try {
            return hub.download(HubUri.parse(uri), wanted);
        } catch (IOException e) {
            // "runs/my-model" reads as OWNER/NAME too: say both, the local folder first
            throw new IOException(HubUri.isHub(name) ? e.getMessage() : "model '" + name + "' is not a folder here ("
                    + local.toAbsolutePath() + "), nor can it be had from the Hub: " + e.getMessage(), e);
        }
    }

    /** A local dataset file or folder: a path as is, else {@code hf://datasets/...} or {@code hg://...}. */
    public static Path dataset(String name, HubClient hub) throws IOException {
        if (HubUri.isHub(name)) {
            HubUri u = HubUri.parse(name);
            if (u.type() != HubUri.RepoType.DATASET) {
                u = new HubUri(HubUri.RepoType.DATASET, u.repoId(), u.revision(), u.path());
            }
            return hub.download(u, f -> f.endsWith(".jsonl") || f.endsWith(".json") || f.endsWith(".parquet")
                    || f.endsWith(".csv") || f.endsWith(".txt") || f.endsWith(".gz"));
        }
        Path p = Path.of(name);
        if (!Files.exists(p)) {
            throw new IOException("dataset path '" + name + "' does not exist");
        }
        return p;
    }

    private static boolean looksLikeRepo(String s) {
        return s.matches("[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9][A-Za-z0-9_.-]*");
    }
}
