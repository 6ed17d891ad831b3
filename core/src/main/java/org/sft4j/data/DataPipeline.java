package org.sft4j.data;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.sft4j.base.JsonFiles;
import org.sft4j.base.Version;
import org.sft4j.config.DataArgs;
import org.sft4j.config.SftConfig;
import org.sft4j.format.Example;
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
            throw new IllegalArgumentException("the data step needs a tokenizer: set model_name_or_path (or tokenizer_name_or_path)");
        }
        Path tokDir = Sources.model(cfg.model().tokenizerSource(), hub);
        TokenizerConfig tcfg = TokenizerConfig.read(tokDir);
        ChatTemplate template = NamedTemplates.resolve(cfg.model(), tcfg, Clock.systemDefaultZone());
        Path out = outputDir(cfg);
        Files.createDirectories(out);
        List<DatasetSpec> train = specs(args.datasets(), args);
        List<DatasetSpec> eval = specs(args.evalDatasets(), args);
        if (train.isEmpty()) {
            throw new IllegalArgumentException("no dataset given: set 'dataset' to a file, folder, hub URI or dataset_info.json name");
        }
        String key = manifestKey(train, eval, tokDir, template, args, cfg.model().template() + "|" + cfg.model().chatTemplate());
        Path manifest = out.resolve("manifest.json");
        if (Files.exists(manifest) && Files.exists(out.resolve("train.parquet"))
                && JSON.readTree(manifest.toFile()).path("key").asText().equals(key)) {
            return reused(out);
        }
        try (Tokenizer tok = Tokenizer.load(tokDir)) {
            SftEncoder encoder = SftEncoder.of(template, tok, tcfg, args.trainOnPrompt(), args.maskHistory());
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

        /** A chunk read and rendered ahead of tokenization: its examples, their renders, the drops (and rows the template refused). */
        private record Rendered(List<Example> examples, List<SftEncoder.Rendered> renders, List<DropReason> drops,
                                List<String> refused) {}

        private static final Rendered END = new Rendered(List.of(), List.of(), List.of(), List.of());

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

        /** A row the chat template refuses (its raise_exception) stops the run, or under on_error: skip is listed. */
        private Rendered render(List<Example> chunk, boolean skip) {
            List<Example> ok = new ArrayList<>();
            List<SftEncoder.Rendered> renders = new ArrayList<>();
            List<DropReason> drops = new ArrayList<>();
            List<String> refused = new ArrayList<>();
            for (Example e : chunk) {
                try {
                    renders.add(encoder.render(e));
                    ok.add(e);
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
            return new Rendered(ok, renders, drops, refused);
        }

        private void write(Rendered chunk, Route route) throws IOException {
            report.examples += chunk.examples().size() + chunk.drops().size();
            chunk.drops().forEach(report::drop);
            for (String r : chunk.refused()) {
                report.listSkipped(r);
            }
            List<SftEncoder.Rendered> rendered = chunk.renders();
            Tokenizer.Encoded[] encs = tok.encodeBatch(rendered.stream().map(SftEncoder.Rendered::text).toList());
            for (int i = 0; i < chunk.examples().size(); i++) {
                Example e = chunk.examples().get(i);
                EncodedExample enc = encoder.encode(e.id(), rendered.get(i), encs[i]);
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
                    preview.add(new Preview(e.id(), rendered.get(i).text(), enc.inputIds(), enc.labels()));
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
        String base = id.endsWith(":rev") ? id.substring(0, id.length() - 4) : id;
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
        hashFile(md, tokDir.resolve("tokenizer.json"));
        if (Files.exists(tokDir.resolve("tokenizer_config.json"))) {
            hashFile(md, tokDir.resolve("tokenizer_config.json"));
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
