package org.sft4j.model;

import org.sft4j.base.UserError;

/**
 * How to continue a prompt.
 *
 * @param maxNewTokens upper bound on generated tokens per prompt
 * @param greedy argmax decoding; when false, sample with temperature and top-p
 * @param temperature softmax temperature for sampling (> 0)
 * @param topP nucleus size for sampling, in (0, 1]
 * @param seed seed of the sampler, so a sampled run can be repeated
 * @param stopIds generation of a row ends after it emits one of these (eos, end-of-turn)
 * @param padId id written after a row has stopped
 * @param useCache keep keys/values between steps (off only to measure what the cache saves)
 */
public record GenerationOptions(int maxNewTokens, boolean greedy, double temperature, double topP, long seed,
                                int[] stopIds, int padId, boolean useCache) {

    public GenerationOptions {
        if (maxNewTokens < 0) {
            throw new UserError("max_new_tokens must be >= 0, got " + maxNewTokens);
        }
        if (!greedy && (temperature <= 0 || topP <= 0 || topP > 1)) {
            throw new UserError("sampling needs temperature > 0 and 0 < top_p <= 1, got temperature "
                    + temperature + ", top_p " + topP);
        }
    }

    public static GenerationOptions greedy(int maxNewTokens, int[] stopIds, int padId) {
        return new GenerationOptions(maxNewTokens, true, 1.0, 1.0, 0, stopIds, padId, true);
    }

    public GenerationOptions withCache(boolean on) {
        return new GenerationOptions(maxNewTokens, greedy, temperature, topP, seed, stopIds, padId, on);
    }
}
