package org.sft4j.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.sft4j.base.UserError;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The decoder's shape, read from a Hugging Face {@code config.json}: its {@link Family} (what kind of block) and the
 * numbers and per-layer choices of this checkpoint.
 *
 * @param family the model family ({@code model_type})
 * @param hiddenSize width of the residual stream
 * @param intermediateSize width of the MLP
 * @param numLayers decoder layers
 * @param numHeads query heads
 * @param numKvHeads key/value heads (GQA when fewer than {@code numHeads})
 * @param headDim per-head width (Qwen3 and Gemma 3 set it apart from hidden / heads)
 * @param vocabSize rows of the embedding and the LM head
 * @param rmsNormEps epsilon inside RMSNorm
 * @param activation the MLP's gate activation: {@code silu} (SwiGLU) or {@code gelu_pytorch_tanh} (GeGLU)
 * @param layerTypes {@code full_attention} or {@code sliding_attention} for every layer
 * @param slidingWindow attention window of the sliding layers in tokens, 0 for none
 * @param ropes RoPE parameters by layer type (one object for both unless the family has one per type)
 * @param attentionScale the factor of q·k ({@code head_dim^-0.5}, or Gemma's {@code query_pre_attn_scalar^-0.5})
 * @param attentionSoftcap attention scores become {@code cap · tanh(scores / cap)} before the mask (Gemma 2); 0 for none
 * @param finalLogitSoftcap logits become {@code cap · tanh(logits / cap)}; 0 for none
 * @param tieWordEmbeddings the LM head reuses the embedding matrix
 * @param qkvBias q/k/v projections have a bias
 * @param oBias the output projection has a bias
 * @param mlpBias the MLP projections have biases
 * @param initializerRange std of the normal init used when sft4j initialises weights
 * @param multimodal the checkpoint is a vision-language one whose language model this is (its tensors carry a prefix)
 * @param raw the config as written back on save, so keys sft4j does not use survive (a multimodal checkpoint's
 *        {@code text_config}, as a text-only model's config)
 */
public record ModelConfig(Family family, int hiddenSize, int intermediateSize, int numLayers, int numHeads,
                          int numKvHeads, int headDim, int vocabSize, double rmsNormEps, String activation,
                          List<String> layerTypes, int slidingWindow, Map<String, RopeConfig> ropes,
                          double attentionScale, double attentionSoftcap, double finalLogitSoftcap,
                          boolean tieWordEmbeddings, boolean qkvBias,
                          boolean oBias, boolean mlpBias, double initializerRange, boolean multimodal, ObjectNode raw) {

    public static final String FULL = "full_attention";
    public static final String SLIDING = "sliding_attention";
    /** The gate activations the MLP implements. */
    public static final Set<String> ACTIVATIONS = Set.of("silu", "gelu_pytorch_tanh");

    public ModelConfig {
        if (hiddenSize <= 0 || numLayers <= 0 || numHeads <= 0 || vocabSize <= 0 || intermediateSize <= 0 || headDim <= 0) {
            throw new UserError("config: hidden_size, intermediate_size, num_hidden_layers, "
                    + "num_attention_heads, head_dim and vocab_size must be positive");
        }
        if (numKvHeads <= 0 || numHeads % numKvHeads != 0) {
            throw new UserError("config: num_attention_heads (" + numHeads
                    + ") must be a multiple of num_key_value_heads (" + numKvHeads + ")");
        }
        layerTypes = List.copyOf(layerTypes);
        ropes = Map.copyOf(ropes);
    }

    /** Reads {@code dir/config.json}. */
    public static ModelConfig read(Path dir) throws IOException {
        Path f = Files.isDirectory(dir) ? dir.resolve("config.json") : dir;
        if (!Files.exists(f)) {
            throw new IOException(f + " does not exist: a model directory needs a Hugging Face config.json");
        }
        JsonNode n = org.sft4j.base.JsonFiles.read(f);
        if (!(n instanceof ObjectNode o)) {
            throw new IOException(f + ": not a JSON object");
        }
        try {
            return fromJson(o);
        } catch (UserError e) {
            throw new IOException(f + ": " + e.getMessage(), e);
        }
    }

    /** Parses a config object; throws with the supported families named when the model is not one of them. */
    public static ModelConfig fromJson(ObjectNode file) {
        boolean multimodal = file.path("model_type").asText("").equals("gemma3");
        ObjectNode n = multimodal ? gemma3LanguageModel(file) : file;
        String type = n.path("model_type").asText("");
        Family family = Family.of(type).orElseThrow(() -> new UserError("unsupported architecture: model_type '" + type
                + "'" + (file.path("architectures").isArray() ? " (" + file.get("architectures") + ")" : "")
                + "; supported: " + Family.supported() + " (SmolLM2 and Llama-3 are llama, Phi-4-mini is phi3, "
                + "the language model of Gemma3ForConditionalGeneration is gemma3_text)"));
        ObjectNode c = family.defaults().deepCopy();
        c.setAll(n);   // the file wins, an explicit null included (Mistral v0.2's "sliding_window": null)
        String activation = c.path(family.activationKey()).asText("silu");
        if (!ACTIVATIONS.contains(activation)) {
            throw new UserError("unsupported " + family.activationKey() + " '" + activation + "' for " + type
                    + ": the MLP implements " + ACTIVATIONS);
        }
        if (c.path("use_bidirectional_attention").asBoolean(false)) {
            throw new UserError(type + " with use_bidirectional_attention=true (an encoder) is not supported");
        }
        int hidden = req(c, "hidden_size");
        int heads = req(c, "num_attention_heads");
        int layers = req(c, "num_hidden_layers");
        int kvHeads = c.path("num_key_value_heads").isNumber() ? c.get("num_key_value_heads").asInt() : heads;
        int headDim = c.path("head_dim").isNumber() ? c.get("head_dim").asInt() : hidden / heads;
        int window = window(family, c);
        List<String> layerTypes = layerTypes(family, c, layers, window);
        Map<String, RopeConfig> ropes = ropes(family, c, headDim);
        double scale = family.queryPreAttnScalar() ? Math.pow(req(c, "query_pre_attn_scalar"), -0.5)
                : Math.pow(headDim, -0.5);
        boolean attnBias = c.path("attention_bias").asBoolean(false);
        return new ModelConfig(family, hidden, req(c, "intermediate_size"), layers, heads, kvHeads, headDim,
                req(c, "vocab_size"), c.path("rms_norm_eps").asDouble(1e-6), activation, layerTypes, window, ropes,
                scale, family.attentionSoftcap() ? c.path("attn_logit_softcapping").asDouble(0) : 0,
                c.path("final_logit_softcapping").asDouble(0), c.path("tie_word_embeddings").asBoolean(false),
                family.qkvBias() || attnBias, attnBias, c.path("mlp_bias").asBoolean(false),
                c.path("initializer_range").asDouble(0.02), multimodal, n.deepCopy());
    }

    /**
     * The language model of a {@code Gemma3ForConditionalGeneration} config as a {@code Gemma3ForCausalLM} one: its
     * {@code text_config}, with the token ids and tying the outer config states. The vision tower is not read.
     */
    private static ObjectNode gemma3LanguageModel(ObjectNode file) {
        if (!file.path("text_config").isObject()) {
            throw new UserError("model_type 'gemma3' (Gemma3ForConditionalGeneration) without a text_config object");
        }
        ObjectNode text = file.get("text_config").deepCopy();
        text.put("model_type", Family.GEMMA3.modelType());
        ArrayNode archs = text.putArray("architectures");
        archs.add(Family.GEMMA3.causalLm());
        for (String key : List.of("bos_token_id", "eos_token_id", "pad_token_id", "tie_word_embeddings",
                "initializer_range", "dtype", "torch_dtype", "transformers_version")) {
            if (!text.has(key) && file.has(key)) {
                text.set(key, file.get(key));
            }
        }
        return text;
    }

    private static int window(Family family, ObjectNode c) {
        int w = c.path("sliding_window").isNumber() ? c.get("sliding_window").asInt() : 0;
        return switch (family.windows()) {
            case NONE -> 0;
            case ALL, ALL_BUT_EVERY_NTH -> w;
            // transformers: Qwen's sliding_window counts only with use_sliding_window
            case PAST_MAX_WINDOW_LAYERS -> c.path("use_sliding_window").asBoolean(false) ? w : 0;
        };
    }

    private static List<String> layerTypes(Family family, ObjectNode c, int layers, int window) {
        JsonNode given = c.path("layer_types");
        List<String> types = new ArrayList<>();
        if (given.isArray() && family.windows() != Family.Windows.ALL && family.windows() != Family.Windows.NONE) {
            if (given.size() != layers) {
                throw new UserError("layer_types has " + given.size() + " entries for " + layers + " layers");
            }
            for (JsonNode t : given) {
                if (!t.asText().equals(FULL) && !t.asText().equals(SLIDING)) {
                    throw new UserError("layer_types entry '" + t.asText() + "' is neither " + FULL + " nor " + SLIDING);
                }
                types.add(t.asText());
            }
            return types;
        }
        int pattern = c.path("sliding_window_pattern").asInt(c.path("_sliding_window_pattern").asInt(6));
        int maxWindowLayers = c.path("max_window_layers").asInt(layers);
        for (int i = 0; i < layers; i++) {
            boolean sliding = switch (family.windows()) {
                case NONE -> false;
                case ALL -> window > 0;
                case PAST_MAX_WINDOW_LAYERS -> window > 0 && i >= maxWindowLayers;
                case ALL_BUT_EVERY_NTH -> (i + 1) % pattern != 0;
            };
            types.add(sliding ? SLIDING : FULL);
        }
        return types;
    }

    /** RoPE by layer type, as transformers 5 standardises {@code rope_parameters}. */
    private static Map<String, RopeConfig> ropes(Family family, ObjectNode c, int headDim) {
        JsonNode p = c.path("rope_parameters");
        if (!family.ropePerLayerType()) {
            JsonNode params = p.isObject() ? p : c.path("rope_scaling");
            RopeConfig rope = RopeConfig.fromJson(params, c, c.path("rope_theta").asDouble(10000.0), headDim);
            return Map.of(FULL, rope, SLIDING, rope);
        }
        // Gemma 3: one object per layer type, or the old rope_theta (+ rope_scaling) for full layers and
        // rope_local_base_freq for sliding ones
        JsonNode full = p.path(FULL).isObject() ? p.get(FULL) : c.path("rope_scaling");
        JsonNode sliding = p.path(SLIDING);
        return Map.of(FULL, RopeConfig.fromJson(full, c, c.path("rope_theta").asDouble(1_000_000.0), headDim),
                SLIDING, RopeConfig.fromJson(sliding, c, c.path("rope_local_base_freq").asDouble(10_000.0), headDim));
    }

    private static int req(JsonNode n, String key) {
        if (!n.path(key).isNumber()) {
            throw new UserError("missing or non-numeric '" + key + "'");
        }
        return n.get(key).asInt();
    }

    /** The config's {@code model_type}. */
    public String modelType() {
        return family.modelType();
    }

    public int kvGroups() {
        return numHeads / numKvHeads;
    }

    /** The attention window of {@code layer} in tokens, 0 for full attention. */
    public int window(int layer) {
        return layerTypes.get(layer).equals(SLIDING) ? slidingWindow : 0;
    }

    /** The RoPE parameters of {@code layer}. */
    public RopeConfig rope(int layer) {
        return ropes.get(layerTypes.get(layer));
    }

    /** Number of parameters of the full model (embedding counted once when tied). */
    public long parameterCount() {
        return Layout.of(this).parameterCount();
    }

    /** The eos token id(s) named by config.json, possibly empty. */
    public int[] eosTokenIds() {
        return TokenIds.of(raw.path("eos_token_id"));
    }

    /** The config as a new object with {@code key} set; used to stamp dtype and versions on save. */
    public ObjectNode rawWith(String key, String value) {
        ObjectNode c = raw.deepCopy();
        c.put(key, value);
        return c;
    }
}
