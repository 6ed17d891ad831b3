package org.sft4j.model;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * One model family, described once by what sets it apart (litgpt's "model by config flags"): which norms its block
 * has and how they scale, whether projections are fused, what the MLP's gate activation is read from, how the
 * embedding is scaled, where the attention scale comes from and which layers slide. {@link Layout} turns a family and
 * a config into tensor names and shapes; the loader, the writer, LoRA targeting and parameter counts read that.
 *
 * <p>Adding a family is one more constant here plus whatever is truly new about it (a new operation in
 * {@code nd.Compute}, a new RoPE type).
 *
 * @param modelType {@code model_type} in config.json
 * @param causalLm the transformers class that loads it, as {@code architectures} names it
 * @param plusOneNorms RMSNorm scales by {@code (1 + w)}, computed in fp32, and its weights start at 0 (Gemma)
 * @param sandwichNorms a norm after attention and after the MLP too, before each residual add (Gemma 2 and 3)
 * @param qkNorm per-head RMSNorm of queries and keys before RoPE (Qwen3, Gemma 3)
 * @param fusedQkv one {@code self_attn.qkv_proj} instead of q/k/v (Phi-3)
 * @param fusedGateUp one {@code mlp.gate_up_proj}, gate rows first (Phi-3)
 * @param qkvBias q/k/v projections always have a bias (Qwen2), else only with {@code attention_bias}
 * @param activationKey the config key naming the MLP's gate activation
 * @param scaledEmbedding embeddings multiplied by √hidden in the weights' type (Gemma)
 * @param queryPreAttnScalar attention scale {@code query_pre_attn_scalar^-0.5} instead of {@code head_dim^-0.5}
 * @param attentionSoftcap attention scores soft-capped by {@code attn_logit_softcapping} (Gemma 2; transformers' Gemma 3
 *        reads the key but does not apply it)
 * @param windows which layers attend within {@code sliding_window}
 * @param ropePerLayerType {@code rope_parameters} keyed by layer type, sliding layers with their own base (Gemma 3)
 * @param defaults what transformers' config class assumes for keys a checkpoint's config.json may omit
 */
public record Family(String modelType, String causalLm, boolean plusOneNorms, boolean sandwichNorms, boolean qkNorm,
                     boolean fusedQkv, boolean fusedGateUp, boolean qkvBias, String activationKey,
                     boolean scaledEmbedding, boolean queryPreAttnScalar, boolean attentionSoftcap, Windows windows,
                     boolean ropePerLayerType, ObjectNode defaults) {

    /** Which layers attend within a sliding window. */
    public enum Windows {
        /** none (Llama) */
        NONE,
        /** every layer, when {@code sliding_window} is set (Mistral, Phi-3) */
        ALL,
        /**
         * with {@code use_sliding_window}, the layers {@code layer_types} calls {@code sliding_attention}, by default
         * those from {@code max_window_layers} on (Qwen2, Qwen3)
         */
        PAST_MAX_WINDOW_LAYERS,
        /**
         * the layers {@code layer_types} calls {@code sliding_attention}, by default all but every
         * {@code sliding_window_pattern}-th (Gemma 2: every other; Gemma 3: 5 of 6)
         */
        ALL_BUT_EVERY_NTH
    }

    private static final ObjectMapper JSON = new ObjectMapper();

    // https://github.com/huggingface/transformers/blob/v5.17.0/src/transformers/models/llama/modeling_llama.py
    public static final Family LLAMA = new Family("llama", "LlamaForCausalLM", false, false, false, false, false, false,
            "hidden_act", false, false, false, Windows.NONE, false, defaults(Map.of()));
    // models/qwen2: q/k/v bias; sliding layers only with use_sliding_window
    public static final Family QWEN2 = new Family("qwen2", "Qwen2ForCausalLM", false, false, false, false, false, true,
            "hidden_act", false, false, false, Windows.PAST_MAX_WINDOW_LAYERS, false, defaults(Map.of("max_window_layers", 28)));
    // models/mistral: Mistral-7B-v0.1 slides over 4096 tokens (the default when config.json says nothing)
    public static final Family MISTRAL = new Family("mistral", "MistralForCausalLM", false, false, false, false, false,
            false, "hidden_act", false, false, false, Windows.ALL, false, defaults(Map.of("sliding_window", 4096)));
    // models/qwen3: q_norm/k_norm per head; head_dim 128 unless config.json says otherwise
    public static final Family QWEN3 = new Family("qwen3", "Qwen3ForCausalLM", false, false, true, false, false, false,
            "hidden_act", false, false, false, Windows.PAST_MAX_WINDOW_LAYERS, false,
            defaults(Map.of("head_dim", 128, "max_window_layers", 28)));
    // models/gemma3 (Gemma3TextConfig's defaults: the text_config of a Gemma3ForConditionalGeneration checkpoint
    // names only what differs from them)
    public static final Family GEMMA3 = new Family("gemma3_text", "Gemma3ForCausalLM", true, true, true, false, false,
            false, "hidden_activation", true, true, false, Windows.ALL_BUT_EVERY_NTH, true, defaults(Map.ofEntries(
                    Map.entry("vocab_size", 262_208), Map.entry("hidden_size", 2304), Map.entry("intermediate_size", 9216),
                    Map.entry("num_hidden_layers", 26), Map.entry("num_attention_heads", 8),
                    Map.entry("num_key_value_heads", 4), Map.entry("head_dim", 256),
                    Map.entry("hidden_activation", "gelu_pytorch_tanh"), Map.entry("rms_norm_eps", 1e-6),
                    Map.entry("query_pre_attn_scalar", 256), Map.entry("sliding_window", 4096),
                    Map.entry("sliding_window_pattern", 6), Map.entry("rope_theta", 1_000_000.0),
                    Map.entry("rope_local_base_freq", 10_000.0), Map.entry("tie_word_embeddings", true),
                    Map.entry("max_position_embeddings", 131_072))));
    // models/gemma2: Gemma 3 without q/k norms, one RoPE for every layer, attention and final logits soft-capped,
    // every other layer sliding
    public static final Family GEMMA2 = new Family("gemma2", "Gemma2ForCausalLM", true, true, false, false, false,
            false, "hidden_activation", true, true, true, Windows.ALL_BUT_EVERY_NTH, false, defaults(Map.ofEntries(
                    Map.entry("vocab_size", 256_000), Map.entry("hidden_size", 2304), Map.entry("intermediate_size", 9216),
                    Map.entry("num_hidden_layers", 26), Map.entry("num_attention_heads", 8),
                    Map.entry("num_key_value_heads", 4), Map.entry("head_dim", 256),
                    Map.entry("hidden_activation", "gelu_pytorch_tanh"), Map.entry("rms_norm_eps", 1e-6),
                    Map.entry("query_pre_attn_scalar", 256), Map.entry("sliding_window", 4096),
                    Map.entry("sliding_window_pattern", 2), Map.entry("attn_logit_softcapping", 50.0),
                    Map.entry("final_logit_softcapping", 30.0), Map.entry("tie_word_embeddings", true),
                    Map.entry("max_position_embeddings", 8192))));
    // models/phi3: fused qkv_proj and gate_up_proj, partial rotary, longrope
    public static final Family PHI3 = new Family("phi3", "Phi3ForCausalLM", false, false, false, true, true, false,
            "hidden_act", false, false, false, Windows.ALL, false, defaults(Map.of("rms_norm_eps", 1e-5)));

    /** Every family sft4j implements, in the order the README lists them. */
    public static final List<Family> ALL = List.of(LLAMA, QWEN2, MISTRAL, QWEN3, GEMMA2, GEMMA3, PHI3);

    /** The family of a {@code model_type}, if sft4j implements it. */
    public static Optional<Family> of(String modelType) {
        return ALL.stream().filter(f -> f.modelType.equals(modelType)).findFirst();
    }

    /** "llama (LlamaForCausalLM), qwen2 (...), ..." for error messages. */
    public static String supported() {
        return ALL.stream().map(f -> f.modelType + " (" + f.causalLm + ")").collect(Collectors.joining(", "));
    }

    private static ObjectNode defaults(Map<String, Object> values) {
        ObjectNode n = JSON.createObjectNode();
        values.forEach((k, v) -> n.set(k, JSON.valueToTree(v)));
        return n;
    }
}
