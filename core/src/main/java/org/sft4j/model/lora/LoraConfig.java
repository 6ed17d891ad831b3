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
 * @param targets projection names ({@code q_proj}, ..., {@code down_proj}) or {@code all}
 */
public record LoraConfig(int rank, double alpha, double dropout, List<String> targets) {

    /** Every linear projection of the decoder, in the order PEFT's {@code all-linear} covers them. */
    public static final List<String> ALL = List.of("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj",
            "down_proj");

    public LoraConfig {
        if (rank <= 0) {
            throw new UserError("lora_rank must be positive, got " + rank);
        }
        if (dropout < 0 || dropout >= 1) {
            throw new UserError("lora_dropout must be in [0, 1), got " + dropout);
        }
        targets = expand(targets);
    }

    private static List<String> expand(List<String> targets) {
        if (targets == null || targets.isEmpty() || targets.contains("all") || targets.contains("all-linear")) {
            return ALL;
        }
        for (String t : targets) {
            if (!ALL.contains(t)) {
                throw new UserError("lora_target '" + t + "' is not a projection of the decoder; "
                        + "choose from " + ALL + " or 'all'");
            }
        }
        return List.copyOf(Set.copyOf(targets)).stream().sorted().toList();
    }

    public double scale() {
        return alpha / rank;
    }

    /** True when the projection named by a checkpoint key ending in {@code .<proj>.weight} is targeted. */
    public boolean targets(String projection) {
        return targets.contains(projection);
    }
}
