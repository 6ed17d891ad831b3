package org.sft4j.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.sft4j.base.UserError;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;

/**
 * The decoder's shape, read from a Hugging Face {@code config.json}.
 *
 * <p>Llama (incl. SmolLM2), Qwen2/Qwen2.5 and Mistral are one family: RMSNorm, RoPE, grouped-query
 * attention and a SwiGLU MLP. They differ only in the flags below ({@code qkvBias} for Qwen2,
 * {@code tieWordEmbeddings} for Qwen2.5-0.5B/SmolLM2, RoPE scaling for Llama-3).
 *
 * @param modelType {@code llama}, {@code qwen2} or {@code mistral}
 * @param hiddenSize width of the residual stream
 * @param intermediateSize width of the MLP
 * @param numLayers decoder layers
 * @param numHeads query heads
 * @param numKvHeads key/value heads (GQA when fewer than {@code numHeads})
 * @param headDim per-head width
 * @param vocabSize rows of the embedding and the LM head
 * @param rmsNormEps epsilon inside RMSNorm
 * @param rope rotary embedding parameters
 * @param tieWordEmbeddings the LM head reuses the embedding matrix
 * @param qkvBias q/k/v projections have a bias
 * @param oBias the output projection has a bias
 * @param mlpBias the MLP projections have biases
 * @param slidingWindow attention window in tokens, 0 for none
 * @param initializerRange std of the normal init used when sft4j initialises weights
 * @param raw the file as read, written back on save so keys sft4j does not use survive
 */
public record ModelConfig(String modelType, int hiddenSize, int intermediateSize, int numLayers, int numHeads,
                          int numKvHeads, int headDim, int vocabSize, double rmsNormEps, RopeConfig rope,
                          boolean tieWordEmbeddings, boolean qkvBias, boolean oBias, boolean mlpBias,
                          int slidingWindow, double initializerRange, ObjectNode raw) {

    /** The model types this decoder implements. */
    public static final List<String> SUPPORTED = List.of("llama", "qwen2", "mistral");
    private static final Set<String> SUPPORTED_ARCHS =
            Set.of("LlamaForCausalLM", "Qwen2ForCausalLM", "MistralForCausalLM");

    public ModelConfig {
        if (hiddenSize <= 0 || numLayers <= 0 || numHeads <= 0 || vocabSize <= 0 || intermediateSize <= 0) {
            throw new UserError("config: hidden_size, intermediate_size, num_hidden_layers, "
                    + "num_attention_heads and vocab_size must be positive");
        }
        if (numHeads % numKvHeads != 0) {
            throw new UserError("config: num_attention_heads (" + numHeads
                    + ") must be a multiple of num_key_value_heads (" + numKvHeads + ")");
        }
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
    public static ModelConfig fromJson(ObjectNode n) {
        String type = n.path("model_type").asText("");
        JsonNode archs = n.path("architectures");
        if (!SUPPORTED.contains(type)) {
            throw new UserError("unsupported architecture: model_type '" + type + "'"
                    + (archs.isArray() ? " (" + archs + ")" : "") + "; supported: " + SUPPORTED
                    + " i.e. " + SUPPORTED_ARCHS + " (SmolLM2 and Llama-3 are llama)");
        }
        if (!n.path("hidden_act").asText("silu").equals("silu")) {
            throw new UserError("unsupported hidden_act '" + n.path("hidden_act").asText()
                    + "': the decoder implements SwiGLU with silu");
        }
        int hidden = req(n, "hidden_size");
        int heads = req(n, "num_attention_heads");
        int kvHeads = n.path("num_key_value_heads").isNumber() ? n.get("num_key_value_heads").asInt() : heads;
        int headDim = n.path("head_dim").isNumber() ? n.get("head_dim").asInt() : hidden / heads;
        boolean qwen = type.equals("qwen2");
        boolean attnBias = n.path("attention_bias").asBoolean(false);
        int window = 0;
        if (type.equals("mistral") && n.path("sliding_window").isNumber()) {
            window = n.get("sliding_window").asInt();
        }
        if (qwen && n.path("use_sliding_window").asBoolean(false)) {
            throw new UserError("qwen2 with use_sliding_window=true is not supported");
        }
        return new ModelConfig(type, hidden, req(n, "intermediate_size"), req(n, "num_hidden_layers"), heads,
                kvHeads, headDim, req(n, "vocab_size"), n.path("rms_norm_eps").asDouble(1e-6),
                RopeConfig.fromJson(n, headDim), n.path("tie_word_embeddings").asBoolean(false),
                qwen || attnBias, attnBias, n.path("mlp_bias").asBoolean(false), window,
                n.path("initializer_range").asDouble(0.02), n.deepCopy());
    }

    private static int req(JsonNode n, String key) {
        if (!n.path(key).isNumber()) {
            throw new UserError("missing or non-numeric '" + key + "'");
        }
        return n.get(key).asInt();
    }

    public int kvGroups() {
        return numHeads / numKvHeads;
    }

    /** Number of parameters of the full model (embedding counted once when tied). */
    public long parameterCount() {
        long attn = (long) hiddenSize * numHeads * headDim * 2 + (long) hiddenSize * numKvHeads * headDim * 2;
        if (qkvBias) {
            attn += (long) (numHeads + 2 * numKvHeads) * headDim;
        }
        long mlp = 3L * hiddenSize * intermediateSize;
        long perLayer = attn + mlp + 2L * hiddenSize;
        long emb = (long) vocabSize * hiddenSize;
        return emb * (tieWordEmbeddings ? 1 : 2) + perLayer * numLayers + hiddenSize;
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
