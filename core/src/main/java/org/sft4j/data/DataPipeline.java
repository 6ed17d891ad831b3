package org.sft4j.data;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.sft4j.base.JsonFiles;
import org.sft4j.base.UserError;
import org.sft4j.base.Version;
import org.sft4j.config.DataArgs;
import org.sft4j.config.SftConfig;
import org.sft4j.format.Example;
import org.sft4j.format.Message;
import org.sft4j.hub.HubClient;
import org.sft4j.hub.Sources;
import org.sft4j.model.io.SafetensorsWriter;
import org.sft4j.read.DataException;
import org.sft4j.template.ChatTemplate;
import org.sft4j.template.NamedTemplates;
import org.sft4j.template.TokenizerConfig;
import org.sft4j.tokenize.DropReason;
import org.sft4j.tokenize.EncodedExample;
import org.sft4j.tokenize.LengthPolicy;
import org.sft4j.tokenize.SftEncoder;
import org.sft4j.tokenize.Tokenizer;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.OptionalInt;
import java.util.function.Consumer;

/**
 * Step 1 of a job: raw files to tokenized, masked Parquet. Streams the datasets in chunks (flat memory),
 * renders each example with the chat template, tokenizes a chunk at once, masks, applies the length
 * policy, assigns the split by a hash of the example id (stable across runs and bidirectional pairs), and
 * writes {@code train.parquet}, {@code val.parquet}, {@code report.json} and {@code manifest.json}. A rerun
 * whose inputs, tokenizer, template and data settings hash the same reuses the files.
 */
public final class DataPipeline {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int CHUNK = 512;
    /** Examples kept for the notebook's table and masking preview. */
    public static final int PREVIEW = 8;

    private DataPipeline() {}

    /** An example as shown in the preview: rendered text and tokens with labels. */
    public record Preview(String id, String text, int[] inputIds, int[] labels) {}

    /** The outcome: where the files are and what happened. */
    public record Prepared(Path dir, Path train, Path val, DataReport report, List<Preview> preview, boolean reused) {}

    /** Progress of a long data step: examples processed so far. */
    public record Progress(long examples, long kept) {}

    public static Path outputDir(SftConfig cfg) {
        if (cfg.data().tokenizedPath() != null) {
            return Path.of(cfg.data().tokenizedPath());
        }
        return cfg.train().outputDir() != null ? Path.of(cfg.train().outputDir(), "data") : Path.of("sft4j-data");
    }

    public static Prepared prepare(SftConfig cfg, HubClient hub, Consumer<Progress> progress) throws IOException {
        DataArgs args = cfg.data();
        if (cfg.model().tokenizerSource() == null) {
            throw new UserError("the data step needs a tokenizer: set model_name_or_path (or tokenizer_name_or_path)");
        }
        Path tokDir = Sources.model(cfg.model().tokenizerSource(), hub);
        TokenizerConfig tcfg = TokenizerConfig.read(tokDir);
        ChatTemplate template = NamedTemplates.resolve(cfg.model(), tcfg, Clock.systemDefaultZone());
        Path out = outputDir(cfg);
        Files.createDirectories(out);
        List<DatasetSpec> train = specs(args.datasets(), args);
        List<DatasetSpec> eval = specs(args.evalDatasets(), args);
        if (train.isEmpty()) {
            throw new UserError("no dataset given: set 'dataset' to a file, folder, hub URI or dataset_info.json name");
        }
        String key = manifestKey(train, eval, tokDir, template, args, cfg.model().template() + "|" + cfg.model().chatTemplate()
                + "|enable_thinking=" + cfg.model().enableThinking().key());
        Path manifest = out.resolve("manifest.json");
        if (Files.exists(manifest) && Files.exists(out.resolve("train.parquet"))
                && JSON.readTree(manifest.toFile()).path("key").asText().equals(key)) {
            return reused(out);
        }
        try (Tokenizer tok = Tokenizer.load(tokDir)) {
            SftEncoder encoder = SftEncoder.of(template, tok, tcfg, args.trainOnPrompt(), args.maskHistory(),
                    cfg.model().enableThinking());
            LengthPolicy policy = new LengthPolicy(args.cutoffLen(), args.overlong(), args.minSeqLen());
            DataReport report = new DataReport();
            report.cutoffLen = args.cutoffLen();
            report.overlong = args.overlong();
            report.template = template.name();
            report.tokenizer = tok.file().toString();
            int[] endIds = template.endOfTurnTokens().stream().map(tok::tokenId).filter(OptionalInt::isPresent)
                    .mapToInt(OptionalInt::getAsInt).toArray();
            List<Preview> preview = new ArrayList<>();
            try (TokenizedWriter trainOut = new TokenizedWriter(out.resolve("train.parquet"));
                 TokenizedWriter valOut = new TokenizedWriter(out.resolve("val.parquet"))) {
                Sink sink = new Sink(encoder, policy, tok, report, preview, endIds, progress);
                ValSplit split = new ValSplit(eval.isEmpty() ? args.valSize() : 0, args.seed(), trainOut, valOut);
                sink.run(train, args, hub, split::accept);
                split.finish();
                if (!eval.isEmpty()) {
                    sink.run(eval, args, hub, valOut::write);
                }
                report.train = trainOut.rows();
                report.val = valOut.rows();
                if (report.train == 0) {
                    throw new DataException(train.get(0).location(), NothingKept.explain(report, args));
                }
                trainOut.commit();
                valOut.commit();
            }
            writeJson(out.resolve("report.json"), report);
            writeJson(out.resolve("preview.json"), previewJson(preview));
            ObjectNode m = JSON.createObjectNode();
            m.put("key", key);
            m.put("sft4j", Version.VERSION);
            m.set("data", JSON.valueToTree(args));
            m.put("template", template.name());
            m.put("tokenizer", tok.file().toString());
            writeJson(manifest, m);
            return new Prepared(out, out.resolve("train.parquet"), out.resolve("val.parquet"), report, preview, false);
        }
    }

    /** Where a kept example goes: a split, or the validation file. */
    @FunctionalInterface
    private interface Route {
        void accept(EncodedExample e) throws IOException;
    }

    /** Streams examples through render -> tokenize -> mask -> policy into the writer chosen per example. */
    private static final class Sink {
        private final SftEncoder encoder;
        private final LengthPolicy policy;
        private final Tokenizer tok;
        private final DataReport report;
        private final List<Preview> preview;
        private final int[] endIds;
        private final Consumer<Progress> progress;

        Sink(SftEncoder encoder, LengthPolicy policy, Tokenizer tok, DataReport report, List<Preview> preview, int[] endIds,
             Consumer<Progress> progress) {
            this.encoder = encoder;
            this.policy = policy;
            this.tok = tok;
            this.report = report;
            this.preview = preview;
            this.endIds = endIds;
            this.progress = progress;
        }

        /** One sequence to tokenize: its example, the id it is written under, its render. */
        private record Sequence(Example example, String id, SftEncoder.Rendered render) {}

        /**
         * A chunk read and rendered ahead of tokenization: its sequences, the drops, the examples rendered, those
         * split into one sequence per turn, those whose reasoning {@code enable_thinking: false} removed, and the rows
         * the template refused (under {@code on_error: skip}).
         */
        private record Rendered(List<Sequence> sequences, List<DropReason> drops, int examples, int splitByTurn,
                                int reasoningRemoved, List<String> refused) {}

        private static final Rendered END = new Rendered(List.of(), List.of(), 0, 0, 0, List.of());

        /**
         * Reading and rendering run on a second thread, one chunk ahead, so they overlap tokenization (whose
         * batch call keeps the cores busy) and the Parquet writes.
         */
        void run(List<DatasetSpec> specs, DataArgs args, HubClient hub, Route route) throws IOException {
            java.util.concurrent.BlockingQueue<Rendered> queue = new java.util.concurrent.ArrayBlockingQueue<>(2);
            Throwable[] failure = new Throwable[1];
            try (ExampleReader reader = new ExampleReader(specs, args, hub)) {
                Thread producer = new Thread(() -> {
                    try {
                        boolean skip = args.onError().equals("skip");
                        List<Example> chunk = new ArrayList<>(CHUNK);
                        while (reader.hasNext()) {
                            chunk.add(reader.next());
                            if (chunk.size() == CHUNK) {
                                queue.put(render(chunk, skip));
                                chunk = new ArrayList<>(CHUNK);
                            }
                        }
                        queue.put(render(chunk, skip));
                    } catch (Throwable t) {
                        failure[0] = t;
                    } finally {
                        try {
                            queue.put(END);
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                        }
                    }
                }, "sft4j-data-reader");
                producer.setDaemon(true);
                producer.start();
                try {
                    for (Rendered r = queue.take(); r != END; r = queue.take()) {
                        write(r, route);
                    }
                    producer.join();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IOException("interrupted", e);
                }
                if (failure[0] instanceof IOException io) {
                    throw io;
                } else if (failure[0] instanceof RuntimeException re) {
                    throw re;
                } else if (failure[0] != null) {
                    throw new IOException(failure[0]);
                }
                report.rowsRead += reader.rowsRead();
                report.formats = report.formats.isEmpty() ? reader.formats() : report.formats + "," + reader.formats();
                for (ExampleReader.Skipped s : reader.skipped()) {
                    report.drop(DropReason.MALFORMED_ROW);
                    report.listSkipped(s.reason());
                }
            }
        }

        /**
         * Renders a chunk; an example the template rewrites turn by turn gives several sequences ({@code id#k/n}). A row
         * the chat template refuses (its raise_exception) stops the run, or under on_error: skip is listed.
         */
        private Rendered render(List<Example> chunk, boolean skip) {
            List<Sequence> sequences = new ArrayList<>();
            List<DropReason> drops = new ArrayList<>();
            List<String> refused = new ArrayList<>();
            int ok = 0;
            int split = 0;
            int reasoningRemoved = 0;
            for (Example e : chunk) {
                try {
                    List<SftEncoder.Rendered> renders = encoder.render(e);
                    split += renders.size() > 1 ? 1 : 0;
                    if (encoder.removesReasoning() && e.messages().stream().anyMatch(Message::hasReasoning)) {
                        reasoningRemoved++;
                    }
                    for (int k = 0; k < renders.size(); k++) {
                        String id = renders.size() == 1 ? e.id() : e.id() + "#" + (k + 1) + "/" + renders.size();
                        sequences.add(new Sequence(e, id, renders.get(k)));
                    }
                    ok++;
                } catch (SftEncoder.DropException d) {
                    if (d.reason() == DropReason.TEMPLATE_ERROR) {
                        if (!skip) {
                            throw new DataException(e.origin(), d.getMessage() + " (on_error: skip drops such rows and "
                                    + "lists them in the report)");
                        }
                        refused.add(e.origin() + ": " + d.getMessage());
                    }
                    drops.add(d.reason());
                }
            }
            return new Rendered(sequences, drops, ok, split, reasoningRemoved, refused);
        }

        private void write(Rendered chunk, Route route) throws IOException {
            report.examples += chunk.examples() + chunk.drops().size();
            chunk.drops().forEach(report::drop);
            report.splitByTurn += chunk.splitByTurn();
            report.reasoningRemoved += chunk.reasoningRemoved();
            for (String r : chunk.refused()) {
                report.listSkipped(r);
            }
            List<Sequence> sequences = chunk.sequences();
            Tokenizer.Encoded[] encs = tok.encodeBatch(sequences.stream().map(q -> q.render().text()).toList());
            for (int i = 0; i < sequences.size(); i++) {
                Example e = sequences.get(i).example();
                SftEncoder.Rendered rendered = sequences.get(i).render();
                EncodedExample enc = encoder.encode(sequences.get(i).id(), rendered, encs[i]);
                if (enc.length() > report.cutoffLen) {
                    report.overLengths.add(enc.length());
                }
                try {
                    enc = policy.apply(enc, e.origin());
                } catch (SftEncoder.DropException d) {
                    report.drop(d.reason());
                    continue;
                }
                if (enc.truncated()) {
                    report.truncated++;
                }
                countEndTokens(enc);
                report.tokens += enc.length();
                report.supervisedTokens += enc.supervised();
                report.lengths.add(enc.length());
                route.accept(enc);
                if (preview.size() < PREVIEW) {
                    preview.add(new Preview(enc.id(), rendered.text(), enc.inputIds(), enc.labels()));
                }
            }
            if (progress != null) {
                progress.accept(new Progress(report.examples, report.lengths.size()));
            }
        }

        /** Counts supervised runs whose last token is not an end-of-turn token (the model would never learn to stop). */
        private void countEndTokens(EncodedExample e) {
            int[] l = e.labels();
            for (int t = 1; t < l.length; t++) {
                boolean runEnds = l[t] != EncodedExample.IGNORE && (t + 1 == l.length || l[t + 1] == EncodedExample.IGNORE);
                if (runEnds && !e.truncated()) {
                    boolean endToken = false;
                    for (int id : endIds) {
                        endToken |= l[t] == id || (t > 1 && l[t - 1] == id);   // chatml ends with "<|im_end|>\n"
                    }
                    if (!endToken) {
                        report.turnsWithoutEndToken++;
                    }
                }
            }
        }
    }

    private static List<DatasetSpec> specs(List<String> names, DataArgs args) throws IOException {
        List<DatasetSpec> s = new ArrayList<>();
        for (String n : names) {
            s.add(DatasetSpec.resolve(n, args));
        }
        return s;
    }

    /** A uniform number in [0, 1) from the example id (both directions of a translation pair agree). */
    public static double splitOf(String id, long seed) {
        // both directions of a translation pair, and every turn-sequence of one conversation (id#k/n), hash alike
        String base = id;
        int turn = base.lastIndexOf('#');
        if (turn > 0 && base.substring(turn + 1).matches("\\d+/\\d+")) {
            base = base.substring(0, turn);
        }
        base = base.endsWith(":rev") ? base.substring(0, base.length() - 4) : base;
        long h = seed * 0x9E3779B97F4A7C15L;
        for (int i = 0; i < base.length(); i++) {
            h = (h ^ base.charAt(i)) * 0x100000001B3L;
        }
        h ^= h >>> 33;
        h *= 0xff51afd7ed558ccdL;
        h ^= h >>> 33;
        return (h >>> 11) * 0x1.0p-53;
    }

    private static String manifestKey(List<DatasetSpec> train, List<DatasetSpec> eval, Path tokDir, ChatTemplate template,
                                      DataArgs args, String templateName) throws IOException {
        MessageDigest md = sha256();
        for (DatasetSpec s : concat(train, eval)) {
            md.update(s.toString().getBytes(StandardCharsets.UTF_8));
            for (String loc : new String[] {s.location(), s.parallelTarget()}) {
                if (loc != null && !loc.contains("://") && Files.exists(Path.of(loc))) {
                    for (Path f : org.sft4j.read.DataFiles.expand(Path.of(loc))) {
                        hashFile(md, f);
                    }
                } else if (loc != null) {
                    md.update(loc.getBytes(StandardCharsets.UTF_8));
                }
            }
        }
        for (String f : List.of("tokenizer.json", "vocab.json", "merges.txt", "tokenizer_config.json", "special_tokens_map.json",
                "chat_template.jinja")) {
            if (Files.exists(tokDir.resolve(f))) {
                hashFile(md, tokDir.resolve(f));
            }
        }
        if (Files.isDirectory(tokDir.resolve("additional_chat_templates"))) {
            try (java.util.stream.Stream<Path> files = Files.list(tokDir.resolve("additional_chat_templates"))) {
                for (Path f : files.sorted().toList()) {
                    hashFile(md, f);
                }
            }
        }
        md.update(String.valueOf(templateName).getBytes(StandardCharsets.UTF_8));
        md.update(JSON.writeValueAsBytes(args));
        md.update(Version.VERSION.getBytes(StandardCharsets.UTF_8));
        return HexFormat.of().formatHex(md.digest());
    }

    private static List<DatasetSpec> concat(List<DatasetSpec> a, List<DatasetSpec> b) {
        List<DatasetSpec> r = new ArrayList<>(a);
        r.addAll(b);
        return r;
    }

    private static void hashFile(MessageDigest md, Path f) throws IOException {
        try (InputStream in = Files.newInputStream(f)) {
            byte[] buf = new byte[1 << 16];
            int n;
            while ((n = in.read(buf)) > 0) {
                md.update(buf, 0, n);
            }
        }
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static Prepared reused(Path out) throws IOException {
        DataReport report = JSON.readValue(out.resolve("report.json").toFile(), DataReport.class);
        List<Preview> preview = new ArrayList<>();
        for (JsonNode p : JSON.readTree(out.resolve("preview.json").toFile())) {
            preview.add(new Preview(p.path("id").asText(), p.path("text").asText(), JSON.convertValue(p.get("input_ids"), int[].class),
                    JSON.convertValue(p.get("labels"), int[].class)));
        }
        return new Prepared(out, out.resolve("train.parquet"), out.resolve("val.parquet"), report, preview, true);
    }

    private static ArrayNode previewJson(List<Preview> preview) {
        ArrayNode a = JSON.createArrayNode();
        for (Preview p : preview) {
            ObjectNode o = a.addObject();
            o.put("id", p.id());
            o.put("text", p.text());
            o.set("input_ids", JSON.valueToTree(p.inputIds()));
            o.set("labels", JSON.valueToTree(p.labels()));
        }
        return a;
    }

    private static void writeJson(Path f, Object value) throws IOException {
        JsonFiles.writeAtomically(f, value);
    }
}
