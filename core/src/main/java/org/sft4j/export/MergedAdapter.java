package org.sft4j.export;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import org.sft4j.model.Decoder;
import org.sft4j.model.ModelFiles;
import org.sft4j.model.ModelInputs;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A LoRA adapter folded into its base model ({@code W + (alpha/r) B A} in each targeted weight) and written as a
 * plain Hugging Face checkpoint, for tools that take no adapters. The merge checks itself: a probe sequence's
 * logits before and after must agree (they differ only by float rounding).
 *
 * @param dir the written checkpoint
 * @param maxLogitDifference the largest |merged - base+adapter| over the probe's logits
 * @param logitsCompared how many logits the probe compared
 */
public record MergedAdapter(Path dir, double maxLogitDifference, int logitsCompared) {

    private static final int PROBE_TOKENS = 12;

    /** Merges {@code adapter} into {@code base} and writes the result to {@code out} in {@code saveDtype} (as save_dtype). */
    public static MergedAdapter write(Path base, Path adapter, Path out, String saveDtype) throws IOException {
        try (Decoder m = Decoder.load(base, Device.cpu()); NDManager scope = m.manager().newSubManager()) {
            ModelFiles.loadAdapter(m, adapter);
            long[][] probe = new long[1][PROBE_TOKENS];
            for (int t = 0; t < PROBE_TOKENS; t++) {
                probe[0][t] = (1 + 97L * t) % m.config().vocabSize();
            }
            float[] before = m.logits(m.forward(ModelInputs.of(probe), scope, null, false)).toFloatArray();
            m.mergeLora();
            float[] after = m.logits(m.forward(ModelInputs.of(probe), scope, null, false)).toFloatArray();
            ModelFiles.saveModel(m, out, ModelFiles.saveDtype(saveDtype, m), base, ModelFiles.DEFAULT_SHARD_BYTES);
            double max = 0;
            for (int i = 0; i < after.length; i++) {
                max = Math.max(max, Math.abs(after[i] - before[i]));
            }
            return new MergedAdapter(out, max, after.length);
        }
    }
}
