package org.sft4j.model.lora;

import org.sft4j.base.UserError;

import java.util.List;
import java.util.Set;

/**
 * Which projections get a LoRA adapter and how it is shaped.
 *
 * @param rank r, the inner width of B·A
 * @param alpha scaling numerator: the adapter's output is multiplied by alpha / r
 * @param dropout dropout on the adapter's input while training
 * @param targets projection names ({@code q_proj}, ..., {@code down_proj}; Phi-3's fused {@code qkv_proj} and
 *        {@code gate_up_proj}) or {@code all}; sorted, without repeats. A model {@link #resolve resolves} them
 *        against its family's projections
 */
public record LoraConfig(int rank, double alpha, double dropout, List<String> targets) {

    /** Stands for every projection of the model (PEFT's {@code all-linear}). */
    public static final String ALL = "all";

    public LoraConfig {
        if (rank <= 0) {
            throw new UserError("lora_rank must be positive, got " + rank);
        }
        if (dropout < 0 || dropout >= 1) {
            throw new UserError("lora_dropout must be in [0, 1), got " + dropout);
        }
        targets = targets == null || targets.isEmpty() || targets.contains(ALL) || targets.contains("all-linear")
                ? List.of(ALL) : List.copyOf(Set.copyOf(targets)).stream().sorted().toList();
    }

    public double scale() {
        return alpha / rank;
    }

    /**
     * This config with {@code all} expanded to {@code projections} (the model's, in its order) and every named target
     * checked to be one of them.
     *
     * @param family the model family, for the message
     */
    public LoraConfig resolve(List<String> projections, String family) {
        if (targets.equals(List.of(ALL))) {
            return new LoraConfig(rank, alpha, dropout, projections);
        }
        for (String t : targets) {
            if (!projections.contains(t)) {
                throw new UserError("lora_target '" + t + "' is not a projection of " + family + " models; "
                        + "choose from " + projections + " or 'all'");
            }
        }
        return this;
    }

    /** True when the projection named by a checkpoint key ending in {@code .<proj>.weight} is targeted. */
    public boolean targets(String projection) {
        return targets.contains(ALL) || targets.contains(projection);
    }
}
