package org.sft4j.bench;

import ai.djl.Device;
import org.sft4j.Sft;
import org.sft4j.model.Decoder;
import org.sft4j.model.GenerationOptions;
import org.sft4j.model.Generator;
import org.sft4j.model.io.AtomicDirectory;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * The eval issue's generation benchmark: 128 new tokens for a batch of prompts with the KV cache and
 * without it (the whole sequence recomputed each step), same model, same run. Target: >= 5x.
 *
 * <pre>bench/run kv-cache SMOLLM2_TOKENIZER_DIR</pre>
 */
public final class KvCacheBench {

    public static void main(String[] args) throws Exception {
        Path tok = Path.of(args[0]);
        Path work = Files.createTempDirectory("sft4j-kv-bench");
        try {
            // SmolLM2 architecture at width 512, 8 layers (~51M parameters): large enough that the layers, which the
            // cache saves, outweigh the 49k-token LM head that both ways compute once per step
            Path model = Sft.initModel(tok.resolve("config.json"), Map.of("hidden_size", 512, "intermediate_size", 1365,
                    "num_hidden_layers", 8, "num_attention_heads", 8, "num_key_value_heads", 4), tok, work.resolve("m"), 1);
            try (Decoder d = Decoder.load(model, Device.cpu())) {
                Generator g = new Generator(d);
                Random rnd = new Random(3);
                List<int[]> prompts = new ArrayList<>();
                for (int i = 0; i < 4; i++) {
                    int[] p = new int[24];
                    for (int k = 0; k < p.length; k++) {
                        p[k] = 20 + rnd.nextInt(40000);
                    }
                    prompts.add(p);
                }
                GenerationOptions opt = GenerationOptions.greedy(128, new int[0], 0);
                g.generate(prompts, GenerationOptions.greedy(8, new int[0], 0), null);          // warm-up
                g.generate(prompts, GenerationOptions.greedy(8, new int[0], 0).withCache(false), null);
                double[] with = new double[3];
                double[] without = new double[3];
                List<Generator.Output> a = null;
                List<Generator.Output> b = null;
                for (int r = 0; r < 3; r++) {
                    long t0 = System.nanoTime();
                    a = g.generate(prompts, opt, null);
                    with[r] = (System.nanoTime() - t0) / 1e9;
                    long t1 = System.nanoTime();
                    b = g.generate(prompts, opt.withCache(false), null);
                    without[r] = (System.nanoTime() - t1) / 1e9;
                }
                boolean same = true;
                for (int i = 0; i < a.size(); i++) {
                    same &= Arrays.equals(a.get(i).tokens(), b.get(i).tokens());
                }
                Bench.row("batch x prompt x new tokens", prompts.size() + " x 24 x 128");
                Bench.row("with KV cache (median of 3)", String.format("%.2f s", Bench.median(with)));
                Bench.row("without cache (median of 3)", String.format("%.2f s", Bench.median(without)));
                Bench.row("speed-up (target >= 5)", String.format("%.1fx", Bench.median(without) / Bench.median(with)));
                Bench.row("same tokens with and without cache", String.valueOf(same));
            }
        } finally {
            AtomicDirectory.deleteTree(work);
        }
    }
}
