package org.sft4j.config;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;

import java.util.Arrays;
import java.util.List;

/**
 * Which model, which template, which fine-tuning method (LLaMA-Factory's model and method keys).
 *
 * @param modelNameOrPath a local Hugging Face directory, {@code hf://OWNER/NAME} or {@code OWNER/NAME}
 * @param tokenizerNameOrPath where tokenizer files come from when not beside the model
 * @param adapterNameOrPath a PEFT adapter to load on top of the model
 * @param template named template, or null for the model's own {@code chat_template}
 * @param chatTemplate a Jinja chat template, inline or the path of a {@code .jinja} file (wins over {@code template})
 * @param enableThinking reasoning models' thinking switch, given to the chat template as its {@code enable_thinking}
 *     kwarg (LLaMA-Factory's key and default, true); see {@link EnableThinking}
 * @param finetuningType {@code full} or {@code lora}
 * @param loraRank r
 * @param loraAlpha alpha; LLaMA-Factory's default is twice the rank
 * @param loraDropout dropout on the adapter input
 * @param loraTarget comma-separated projections, or {@code all}
 * @param device {@code auto}, {@code cpu}, {@code gpu}, {@code gpu:N}
 */
@JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
@JsonIgnoreProperties(ignoreUnknown = true)
public record ModelArgs(String modelNameOrPath, String tokenizerNameOrPath, String adapterNameOrPath, String template,
                        String chatTemplate, EnableThinking enableThinking,
                        String finetuningType, Integer loraRank, Double loraAlpha, Double loraDropout, String loraTarget,
                        String device) {

    public ModelArgs {
        enableThinking = enableThinking == null ? EnableThinking.TRUE : enableThinking;
        finetuningType = finetuningType == null ? "full" : finetuningType;
        if (!List.of("full", "lora").contains(finetuningType)) {
            throw new IllegalArgumentException("finetuning_type '" + finetuningType + "' is not supported; use full or lora");
        }
        loraRank = loraRank == null ? 8 : loraRank;
        loraAlpha = loraAlpha == null ? 2.0 * loraRank : loraAlpha;
        loraDropout = loraDropout == null ? 0.0 : loraDropout;
        loraTarget = loraTarget == null ? "all" : loraTarget;
        device = device == null ? "auto" : device;
    }

    /** Whether {@code name} is a device sft4j runs on: auto, cpu, gpu or gpu:N. */
    public static boolean isDevice(String name) {
        return name.matches("auto|cpu|gpu(:\\d+)?");
    }

    public List<String> loraTargets() {
        return Arrays.stream(loraTarget.split(",")).map(String::trim).filter(s -> !s.isEmpty()).toList();
    }

    public boolean lora() {
        return finetuningType.equals("lora");
    }

    /** Where tokenizer files are read from. */
    public String tokenizerSource() {
        return tokenizerNameOrPath != null ? tokenizerNameOrPath : modelNameOrPath;
    }
}
