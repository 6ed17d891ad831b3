package org.sft4j.model;

import org.sft4j.base.UserError;
import org.sft4j.config.ModelArgs;
import org.sft4j.hub.HubClient;
import org.sft4j.hub.Sources;
import org.sft4j.model.lora.LoraConfig;

import java.io.IOException;
import java.nio.file.Path;

/**
 * What a job's model is, read from its {@code config.json} alone before any data is read or tokenized: an
 * architecture sft4j does not implement, or a {@code lora_target} its family does not have, fails at once with what
 * is supported instead of after the data step.
 */
public final class ArchitectureCheck {

    private ArchitectureCheck() {}

    /**
     * Checks the model of {@code args} (nothing when no model is named, or a local directory has no config.json: the
     * steps that need one say so).
     *
     * @return the model's config, for the step's own checks; null where there is none to read
     */
    public static ModelConfig run(ModelArgs args, HubClient hub) throws IOException {
        if (args.modelNameOrPath() == null) {
            return null;
        }
        Path file = Sources.modelConfig(args.modelNameOrPath(), hub);
        if (file == null) {
            return null;
        }
        ModelConfig cfg = ModelConfig.read(file);
        if (args.lora()) {
            try {
                new LoraConfig(args.loraRank(), args.loraAlpha(), args.loraDropout(), args.loraTargets())
                        .resolve(Layout.of(cfg).projectionKinds(), cfg.modelType());
            } catch (UserError e) {
                throw new UserError(file + ": " + e.getMessage(), e);
            }
        }
        return cfg;
    }
}
