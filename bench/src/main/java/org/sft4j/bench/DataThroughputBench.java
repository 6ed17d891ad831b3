package org.sft4j.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.sft4j.config.SftConfig;
import org.sft4j.data.DataPipeline;
import org.sft4j.data.DatasetSpec;
import org.sft4j.data.ExampleReader;
import org.sft4j.format.Example;
import org.sft4j.hub.HubClient;
import org.sft4j.model.io.AtomicDirectory;
import org.sft4j.read.TextLines;
import org.sft4j.template.ChatTemplate;
import org.sft4j.template.NamedTemplates;
import org.sft4j.template.TokenizerConfig;
import org.sft4j.tokenize.SftEncoder;
import org.sft4j.tokenize.Tokenizer;

import java.io.BufferedWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The data issue's benchmark: 150,000 examples (Multi30K translation pairs both ways, plus Alpaca) through
 * read -> template -> tokenize -> mask -> Parquet, against raw batch tokenization of the same rendered
 * texts in the same run. Prints throughput of both, the ratio (target >= 0.8) and the pipeline's peak heap
 * (target <= 1 GB; run it with -Xmx1g to prove it streams).
 *
 * <pre>bench/run data SHARED_DATA_DIR [TOKENIZER_DIR]</pre>
 */
public final class DataThroughputBench {

    static final int EXAMPLES = 150_000;

    public static void main(String[] args) throws Exception {
        Path data = Path.of(args[0]);
        Path tok = args.length > 1 ? Path.of(args[1]) : data.resolve("tokenizers/qwen2.5-0.5b-instruct");
        Path work = Files.createTempDirectory("sft4j-data-bench");
        try {
            Path jsonl = work.resolve("examples.jsonl");
            int written = writeExamples(data, jsonl);
            Bench.row("examples", String.valueOf(written));
            SftConfig cfg = SftConfig.of(Map.of("model_name_or_path", tok.toString(), "template", "qwen",
                    "dataset", jsonl.toString(), "cutoff_len", 1024, "tokenized_path", work.resolve("out").toString()));
            HubClient hub = new HubClient("http://127.0.0.1:9", null, work.resolve("hub"), true);

            Bench.resetPeakHeap();
            long t0 = System.nanoTime();
            DataPipeline.Prepared p = DataPipeline.prepare(cfg, hub, null);
            double pipelineSec = (System.nanoTime() - t0) / 1e9;
            double peakHeap = Bench.peakHeapMb();

            List<String> texts = renderAll(cfg, tok, hub);   // the same texts, rendered beforehand (not timed)
            long tokens = 0;
            long t1 = System.nanoTime();
            try (Tokenizer t = Tokenizer.load(tok)) {
                for (int s = 0; s < texts.size(); s += 512) {
                    for (Tokenizer.Encoded e : t.encodeBatch(texts.subList(s, Math.min(texts.size(), s + 512)))) {
                        tokens += e.length();
                    }
                }
            }
            double rawSec = (System.nanoTime() - t1) / 1e9;
            Bench.row("pipeline: read+template+tokenize+mask+Parquet", String.format("%.1f s, %.0f examples/s, %.0f tokens/s",
                    pipelineSec, written / pipelineSec, p.report().tokens / pipelineSec));
            Bench.row("baseline: batch tokenization of the same texts", String.format("%.1f s, %.0f examples/s, %.0f tokens/s",
                    rawSec, texts.size() / rawSec, tokens / rawSec));
            Bench.row("ratio pipeline/baseline (target >= 0.8)", String.format("%.2f", rawSec / pipelineSec));
            Bench.row("pipeline peak heap (target <= 1024 MiB)", String.format("%.0f MiB (max heap %d MiB)", peakHeap,
                    Runtime.getRuntime().maxMemory() >> 20));
            Bench.row("kept / tokens", p.report().kept() + " / " + p.report().tokens);
        } finally {
            AtomicDirectory.deleteTree(work);
        }
    }

    /** Multi30K train pairs in both directions, cycled with five instruction phrasings, plus the Alpaca records. */
    static int writeExamples(Path data, Path out) throws Exception {
        List<String> en = TextLines.read(data.resolve("multi30k/train.en.gz"));
        List<String> de = TextLines.read(data.resolve("multi30k/train.de.gz"));
        ObjectMapper om = new ObjectMapper();
        String[] phrasings = {"Translate to %s:", "Translate the following text into %s.", "%s translation:",
            "Please translate into %s:", "Give the %s version:"};
        int n = 0;
        try (BufferedWriter w = Files.newBufferedWriter(out, StandardCharsets.UTF_8)) {
            for (var node : om.readTree(data.resolve("alpaca/alpaca_5000.json").toFile())) {
                w.write(om.writeValueAsString(node));
                w.newLine();
                n++;
            }
            for (int k = 0; n < EXAMPLES; k++) {
                int i = k % en.size();
                boolean toGerman = (k / en.size()) % 2 == 0;
                String p = String.format(phrasings[(k / en.size() / 2) % phrasings.length], toGerman ? "German" : "English");
                ObjectNode o = om.createObjectNode();
                o.put("instruction", p);
                o.put("input", toGerman ? en.get(i) : de.get(i));
                o.put("output", toGerman ? de.get(i) : en.get(i));
                w.write(om.writeValueAsString(o));
                w.newLine();
                n++;
            }
        }
        return n;
    }

    static List<String> renderAll(SftConfig cfg, Path tok, HubClient hub) throws Exception {
        TokenizerConfig tc = TokenizerConfig.read(tok);
        ChatTemplate t = NamedTemplates.resolve(cfg.model(), tc, Clock.systemDefaultZone());
        SftEncoder enc = new SftEncoder(t, false, false, null, -1);
        List<String> texts = new ArrayList<>();
        try (ExampleReader r = new ExampleReader(List.of(DatasetSpec.resolve(cfg.data().dataset(), cfg.data())), cfg.data(), hub)) {
            while (r.hasNext()) {
                Example e = r.next();
                try {
                    enc.render(e).forEach(seq -> texts.add(seq.text()));
                } catch (SftEncoder.DropException dropped) {
                    // the pipeline drops it too (empty answer): not part of "the same texts"
                }
            }
        }
        return texts;
    }
}
