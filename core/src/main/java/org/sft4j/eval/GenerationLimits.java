package org.sft4j.eval;

import org.sft4j.model.ModelConfig;

import java.util.List;
import java.util.Optional;

/**
 * What a model can be asked to generate from: token ids inside its vocabulary (an id past it would fail deep
 * in the embedding as "index out of range in self"), and lengths inside its positions ({@code
 * max_position_embeddings}), past which RoPE models still run but were never trained; transformers warns too.
 */
public final class GenerationLimits {

    private GenerationLimits() {}

    /** The first id outside {@code [0, vocab_size)}, named with the model; empty if all are inside. */
    public static Optional<String> idOutsideVocabulary(int[] ids, ModelConfig cfg, String model) {
        for (int id : ids) {
            if (id < 0 || id >= cfg.vocabSize()) {
                return Optional.of("token id " + id + " is outside the vocabulary of " + model + " (ids 0 to "
                        + (cfg.vocabSize() - 1) + ")");
            }
        }
        return Optional.empty();
    }

    /** A warning when a prompt and its new tokens pass the model's positions. */
    public static Optional<String> pastPositions(int promptTokens, int maxNewTokens, ModelConfig cfg) {
        int positions = positions(cfg);
        if (positions <= 0 || promptTokens + maxNewTokens <= positions) {
            return Optional.empty();
        }
        return Optional.of(promptTokens + " prompt tokens + " + maxNewTokens + " new tokens pass the model's " + positions
                + " positions (max_position_embeddings); what it generates past them is unreliable");
    }

    /** One warning for a test split: how many prompts pass the model's positions with max_new_tokens more. */
    public static Optional<String> pastPositions(List<int[]> prompts, int maxNewTokens, ModelConfig cfg) {
        int positions = positions(cfg);
        long over = prompts.stream().filter(p -> positions > 0 && p.length + maxNewTokens > positions).count();
        if (over == 0) {
            return Optional.empty();
        }
        return Optional.of(over + " of " + prompts.size() + " test prompts with max_new_tokens " + maxNewTokens
                + " more pass the model's " + positions + " positions (max_position_embeddings); what it generates past "
                + "them is unreliable (lower max_new_tokens or shorten the prompts)");
    }

    private static int positions(ModelConfig cfg) {
        return cfg.raw() == null ? 0 : cfg.raw().path("max_position_embeddings").asInt(0);
    }
}
