package org.sft4j.train;

import org.sft4j.config.SftConfig;
import org.sft4j.config.TrainArgs;
import org.sft4j.data.TokenizedSet;
import org.sft4j.model.Decoder;
import org.sft4j.testing.Expected;
import org.sft4j.testing.Shared;
import org.sft4j.tokenize.EncodedExample;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/** Shared builders for the training tests. */
final class TrainFixtures {

    private TrainFixtures() {}

    /** The llama fixture batch as three unpadded examples (the rows' attention masks give their lengths). */
    static TokenizedSet fixtureBatch() throws IOException {
        try (Expected exp = new Expected(Shared.fixtures("models/llama/expected.safetensors"))) {
            long[][] ids = exp.longs("input_ids");
            long[][] mask = exp.longs("attention_mask");
            long[][] labels = exp.longs("labels");
            List<EncodedExample> out = new ArrayList<>();
            for (int r = 0; r < ids.length; r++) {
                int len = (int) Arrays.stream(mask[r]).sum();
                int[] i = new int[len];
                int[] l = new int[len];
                for (int t = 0; t < len; t++) {
                    i[t] = (int) ids[r][t];
                    l[t] = (int) labels[r][t];
                }
                out.add(new EncodedExample("row" + r, i, l, false));
            }
            return new TokenizedSet(out);
        }
    }

    /** Random examples over the fixture vocabulary (512), with the first {@code prompt} tokens masked. */
    static TokenizedSet random(int n, int minLen, int maxLen, int prompt, long seed) {
        Random rnd = new Random(seed);
        List<EncodedExample> out = new ArrayList<>();
        for (int k = 0; k < n; k++) {
            int len = minLen + rnd.nextInt(maxLen - minLen + 1);
            int[] ids = new int[len];
            int[] labels = new int[len];
            for (int t = 0; t < len; t++) {
                ids[t] = 3 + rnd.nextInt(500);
                labels[t] = t < prompt ? EncodedExample.IGNORE : ids[t];
            }
            out.add(new EncodedExample("ex" + k, ids, labels, false));
        }
        return new TokenizedSet(out);
    }

    static TrainArgs args(Path out, Map<String, Object> kv) {
        Map<String, Object> m = new HashMap<>(kv);
        m.put("output_dir", out.toString());
        m.putIfAbsent("logging_steps", 1);
        m.putIfAbsent("save_steps", 100000);
        return SftConfig.of(m).train();
    }

    /** A trainer for {@code model} on {@code data} from a fresh start, as the CLI's setup makes it (no model files). */
    static Trainer trainer(TrainArgs args, Decoder model, TokenizedSet data, List<TrainListener> listeners) throws IOException {
        return TrainSetup.trainer(args, model, TrainData.of(data), ModelSource.named("llama"), ResumePoint.none(), listeners);
    }

    /** Trains {@code model} to the end and frees the trainer. */
    static TrainResult fit(TrainArgs args, Decoder model, TokenizedSet data, List<TrainListener> listeners) throws IOException {
        try (Trainer t = trainer(args, model, data, listeners)) {
            return t.fit();
        }
    }

    /**
     * Trains the llama fixture's {@code model} from {@code from}, as the CLI's setup makes the trainer (the fixture as
     * the model's source, so checkpoints carry its files), asking it to stop once step {@code stopAfter} is logged
     * (0: never).
     */
    static TrainResult fitStoppingAfter(TrainArgs args, Decoder model, TokenizedSet data, ResumePoint from, int stopAfter,
                                        TrainListener recorder) throws IOException {
        Trainer[] self = new Trainer[1];
        TrainListener stopper = new TrainListener() {
            @Override
            public void onStep(StepLog log) {
                if (log.step() == stopAfter) {
                    self[0].requestStop();
                }
            }
        };
        try (Trainer t = TrainSetup.trainer(args, model, TrainData.of(data),
                ModelSource.of(Shared.fixtures("models/llama"), "llama"), from, List.of(recorder, stopper))) {
            self[0] = t;
            return t.fit();
        }
    }

    /** Captures the events of a run. */
    static final class Recorder implements TrainListener {
        final List<StepLog> steps = new ArrayList<>();
        final List<double[]> vals = new ArrayList<>();

        @Override
        public void onStep(StepLog log) {
            steps.add(log);
        }

        @Override
        public void onValidation(int step, double valLoss) {
            vals.add(new double[] {step, valLoss});
        }
    }
}
