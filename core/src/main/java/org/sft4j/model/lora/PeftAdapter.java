package org.sft4j.model.lora;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.sft4j.base.JsonFiles;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The {@code adapter_config.json} of a PEFT LoRA adapter: what sft4j reads from it and writes into it.
 */
public final class PeftAdapter {

    private static final ObjectMapper JSON = new ObjectMapper();

    private PeftAdapter() {}

    /** Reads r, lora_alpha, lora_dropout and target_modules; rejects adapters sft4j would apply wrongly. */
    public static LoraConfig readConfig(Path dir) throws IOException {
        Path f = dir.resolve("adapter_config.json");
        if (!Files.exists(f)) {
            throw new IOException(dir + ": no adapter_config.json (not a PEFT adapter directory)");
        }
        JsonNode n = org.sft4j.base.JsonFiles.read(f);
        if (!n.path("peft_type").asText("LORA").equals("LORA")) {
            throw new IOException(f + ": peft_type '" + n.path("peft_type").asText() + "' is not LORA");
        }
        for (String flag : List.of("use_dora", "use_rslora", "fan_in_fan_out")) {
            if (n.path(flag).asBoolean(false)) {
                throw new IOException(f + ": " + flag + "=true is not supported");
            }
        }
        if (n.path("rank_pattern").size() > 0 || n.path("alpha_pattern").size() > 0) {
            throw new IOException(f + ": per-module rank_pattern/alpha_pattern is not supported");
        }
        List<String> targets = new ArrayList<>();
        JsonNode t = n.path("target_modules");
        if (t.isTextual()) {
            targets.add(t.asText());
        } else {
            t.forEach(x -> targets.add(x.asText()));
        }
        try {
            return new LoraConfig(n.path("r").asInt(8), n.path("lora_alpha").asDouble(8), n.path("lora_dropout").asDouble(0),
                    targets);
        } catch (org.sft4j.base.UserError e) {
            throw new org.sft4j.base.UserError(f + ": " + e.getMessage(), e);
        }
    }

    /** Writes an {@code adapter_config.json} that PEFT's {@code PeftModel.from_pretrained} accepts. */
    public static void writeConfig(Path dir, LoraConfig cfg, String baseModel) throws IOException {
        ObjectNode n = JSON.createObjectNode();
        n.put("peft_type", "LORA");
        n.put("task_type", "CAUSAL_LM");
        n.put("base_model_name_or_path", baseModel);
        n.put("r", cfg.rank());
        n.put("lora_alpha", cfg.alpha());
        n.put("lora_dropout", cfg.dropout());
        ArrayNode targets = n.putArray("target_modules");
        cfg.targets().forEach(targets::add);
        n.put("bias", "none");
        n.put("fan_in_fan_out", false);
        n.put("inference_mode", true);
        n.put("init_lora_weights", true);
        n.put("use_dora", false);
        n.put("use_rslora", false);
        n.putObject("rank_pattern");
        n.putObject("alpha_pattern");
        n.putNull("modules_to_save");
        JsonFiles.writeAtomically(dir.resolve("adapter_config.json"), n);
    }
}
