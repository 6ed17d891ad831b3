package org.sft4j.model;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import org.sft4j.model.lora.LoraAdapter;
import org.sft4j.model.lora.LoraConfig;
import org.sft4j.nd.Compute;
import org.sft4j.nd.Engines;
import org.sft4j.nd.Precision;
import org.sft4j.nd.Scalars;
import org.sft4j.nd.Tensors;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * The decoder-only transformer shared by Llama, Qwen2 and Mistral, holding its weights by their
 * Hugging Face names.
 *
 * <pre>{@code
 * try (Decoder model = Decoder.load(Path.of("models/smollm2"), Device.gpu(), Precision.BF16_MIXED);
 *      StepScope step = StepScope.open(model.manager())) {
 *     NDArray hidden = model.forward(ModelInputs.of(ids), step.manager(), null, false);  // (B, T, hidden)
 *     NDArray logits = model.logits(hidden);                                             // (B, T, vocab)
 * }
 * }</pre>
 *
 * <p>How it computes (portable DJL operations, or the native kernels at a precision) is a {@link Compute}
 * chosen when it is loaded and held by every layer; under bf16-true the base weights are stored in bf16 from the
 * start.
 *
 * <p>Memory: weights live in {@link #manager()}; every array a forward pass creates is attached to
 * the manager passed to {@link #forward} (activations are always the first operand), so closing that
 * manager, or the {@code StepScope} around the step, frees the step.
 */
public final class Decoder implements AutoCloseable {

    private final ModelConfig config;
    private final NDManager manager;
    private final DataType dataType;
    private final Scalars scalars;
    private final Parameter embed;
    private final List<DecoderLayer> layers;
    private final Parameter finalNorm;
    private final Parameter lmHead;
    private final Rope rope;
    private final Compute compute;
    private LoraConfig lora;

    Decoder(ModelConfig config, NDManager manager, DataType dataType, Compute compute, Scalars scalars, Parameter embed,
            List<DecoderLayer> layers, Parameter finalNorm, Parameter lmHead) {
        this.config = config;
        this.manager = manager;
        this.dataType = dataType;
        this.compute = compute;
        this.scalars = scalars;
        this.embed = embed;
        this.layers = layers;
        this.finalNorm = finalNorm;
        this.lmHead = lmHead;
        this.rope = new Rope(config.rope(), config.headDim(), manager, dataType, compute);
    }

    /** Loads a Hugging Face checkpoint directory onto {@code device}, in fp32 (with the native kernels when loaded). */
    public static Decoder load(java.nio.file.Path dir, Device device) throws java.io.IOException {
        return load(dir, device, Compute.forPrecision(Precision.FP32));
    }

    /**
     * Loads a checkpoint to train or run at {@code precision}: the native kernels at that precision where the
     * extension is loaded, else fp32 on DJL's portable path (with one warning when a 16-bit precision was asked).
     */
    public static Decoder load(java.nio.file.Path dir, Device device, Precision precision) throws java.io.IOException {
        return load(dir, device, Compute.forPrecision(precision));
    }

    /** Loads a checkpoint to compute with exactly {@code compute} (benchmarks and parity checks pick one). */
    public static Decoder load(java.nio.file.Path dir, Device device, Compute compute) throws java.io.IOException {
        return WeightLoader.load(dir, device, DataType.FLOAT32, compute);
    }

    /** A model with weights initialised as transformers does (normal(0, initializer_range), norms 1). */
    public static Decoder randomInit(ModelConfig config, long seed, Device device) {
        return randomInit(config, seed, device, Compute.forPrecision(Precision.FP32));
    }

    /** As {@link #randomInit(ModelConfig, long, Device)}, computing with {@code compute}. */
    public static Decoder randomInit(ModelConfig config, long seed, Device device, Compute compute) {
        return WeightLoader.randomInit(config, seed, device, DataType.FLOAT32, compute);
    }

    /** How this model computes, chosen when it was loaded; the loss, optimizer and clipping of a run use it too. */
    public Compute compute() {
        return compute;
    }

    public ModelConfig config() {
        return config;
    }

    public NDManager manager() {
        return manager;
    }

    public Device device() {
        return manager.getDevice();
    }

    public DataType dataType() {
        return dataType;
    }

    Scalars scalars() {
        return scalars;
    }

    public LoraConfig loraConfig() {
        return lora;
    }

    /**
     * Runs the decoder and returns the final hidden states (B, T, hidden), after the last norm.
     *
     * @param in the batch
     * @param scope the manager new arrays are attached to
     * @param cache keys/values of earlier tokens, extended in place; null for training
     * @param training turns on LoRA dropout
     */
    public NDArray forward(ModelInputs in, NDManager scope, KvCache cache, boolean training) {
        NDArray x = embed(in, scope);                                                     // (B, T, C)
        LayerInputs shared = layerInputs(in, scope, cache, training);
        for (int i = 0; i < layers.size(); i++) {
            x = layers.get(i).forward(x, shared.cos(), shared.sin(), shared.mask(), cache, training);
        }
        if (cache != null) {
            cache.advance(in.length());
        }
        return norm(x);
    }

    // ---- one layer at a time: what layer-wise training (activation checkpointing, ZeRO-3's per-layer gathers) runs

    /**
     * What every layer of one pass shares: the rotary tables (B, 1, T, D) and the additive attention mask (null for
     * plain causal attention where the kernels apply it themselves).
     */
    public record LayerInputs(NDArray cos, NDArray sin, NDArray mask, boolean training) {}

    /** The token embeddings (B, T, C) of a batch: the input of layer 0. */
    public NDArray embed(ModelInputs in, NDManager scope) {
        int b = in.batchSize();
        int t = in.length();
        long[] flat = new long[b * t];
        for (int i = 0; i < b; i++) {
            System.arraycopy(in.inputIds()[i], 0, flat, i * t, t);
        }
        return Tensors.embedding(scope.create(flat, new Shape(b, t)), embed.array());
    }

    /** The rotary tables and mask of a pass without a KV cache (training, validation). */
    public LayerInputs layerInputs(ModelInputs in, NDManager scope, boolean training) {
        return layerInputs(in, scope, null, training);
    }

    private LayerInputs layerInputs(ModelInputs in, NDManager scope, KvCache cache, boolean training) {
        int t = in.length();
        int past = 0;
        int[][] keyValid = in.attentionMask();
        if (cache != null) {
            past = cache.length();
            cache.extendValidity(in.attentionMask());
            keyValid = cache.keyValid();
        }
        // plain causal attention needs no mask tensor where the kernels apply it themselves
        boolean causalOnly = compute.implicitCausalMask() && cache == null && in.segmentIds() == null && allOnes(keyValid)
                && (config.slidingWindow() <= 0 || config.slidingWindow() >= t);
        NDArray mask = causalOnly ? null : AttentionMask.build(scope, keyValid, in.segmentIds(), past, t,
                config.slidingWindow(), dataType);
        NDList cs = rope.tables(scope, in.positionIds());
        return new LayerInputs(cs.get(0), cs.get(1), mask, training);
    }

    public int numLayers() {
        return layers.size();
    }

    /** Decoder layer {@code i} on its input (B, T, C) -> its output, attached to the input's manager. */
    public NDArray layer(int i, NDArray x, LayerInputs shared) {
        return layers.get(i).forward(x, shared.cos(), shared.sin(), shared.mask(), null, shared.training());
    }

    /** The final norm on the last layer's output: the hidden states the LM head reads. */
    public NDArray norm(NDArray x) {
        return compute.rmsNorm(x, finalNorm.array(), config.rmsNormEps());
    }

    /** Every parameter of layer {@code i}: its base weights in checkpoint order, then its LoRA A/B. */
    public List<Parameter> layerParameters(int i) {
        DecoderLayer l = layers.get(i);
        List<Parameter> ps = new ArrayList<>(l.baseParameters());
        for (Projection p : l.projections()) {
            if (p.lora() != null) {
                ps.add(p.lora().a());
                ps.add(p.lora().b());
            }
        }
        return ps;
    }

    /** The parameters outside the layers: the embedding, the final norm and the LM head (when not tied). */
    public List<Parameter> outerParameters() {
        return lmHead == embed ? List.of(embed, finalNorm) : List.of(embed, finalNorm, lmHead);
    }

    /** Projects hidden states (..., hidden) onto the vocabulary (..., vocab), in fp32. */
    public NDArray logits(NDArray hidden) {
        return compute.float32(head().apply(hidden));
    }

    /**
     * The LM head as a function of hidden rows: fp32 logits, or bf16 ones under bf16-true (the loss upcasts them,
     * as transformers does). Any 16-bit copy of the head is made once here, so call this once per step and apply the
     * function to every chunk.
     */
    public java.util.function.UnaryOperator<NDArray> head() {
        return compute.head(lmHead.array());
    }

    private static boolean allOnes(int[][] mask) {
        if (mask == null) {
            return true;
        }
        for (int[] row : mask) {
            for (int v : row) {
                if (v == 0) {
                    return false;
                }
            }
        }
        return true;
    }

    /** The LM head weight [vocab, hidden] (the embedding when tied). */
    public Parameter lmHead() {
        return lmHead;
    }

    /** A new KV cache sized for this model, owned by the caller. */
    public KvCache newCache(NDManager parent) {
        return new KvCache(parent, layers.size());
    }

    /** Every base weight in checkpoint order (the tied head is not listed twice). */
    public List<Parameter> baseParameters() {
        List<Parameter> ps = new ArrayList<>();
        ps.add(embed);
        for (DecoderLayer l : layers) {
            ps.addAll(l.baseParameters());
        }
        ps.add(finalNorm);
        if (lmHead != embed) {
            ps.add(lmHead);
        }
        return ps;
    }

    /** The LoRA A/B parameters, PEFT-named, in layer order; empty without adapters. */
    public List<Parameter> loraParameters() {
        List<Parameter> ps = new ArrayList<>();
        for (Projection p : projections()) {
            if (p.lora() != null) {
                ps.add(p.lora().a());
                ps.add(p.lora().b());
            }
        }
        return ps;
    }

    /** Every parameter with gradients on: the whole model, or only the adapters under LoRA. */
    public List<Parameter> trainableParameters() {
        List<Parameter> all = new ArrayList<>(baseParameters());
        all.addAll(loraParameters());
        return all.stream().filter(Parameter::trainable).toList();
    }

    /** All projections of all layers, q..down per layer. */
    public List<Projection> projections() {
        List<Projection> ps = new ArrayList<>();
        for (DecoderLayer l : layers) {
            ps.addAll(l.projections());
        }
        return Collections.unmodifiableList(ps);
    }

    /** Freezes or unfreezes every base weight. */
    public void setBaseTrainable(boolean trainable) {
        for (Parameter p : baseParameters()) {
            p.setTrainable(trainable);
        }
    }

    /**
     * Adds LoRA adapters (A Kaiming-uniform, B zero, as PEFT initialises them) to the targeted
     * projections and freezes the base weights.
     */
    public void addLora(LoraConfig cfg, long seed) {
        if (lora != null) {
            throw new IllegalStateException("the model already has LoRA adapters; merge or reload first");
        }
        java.util.Random rnd = new java.util.Random(seed);
        for (Projection p : projections()) {
            if (!cfg.targets(p.kind())) {
                continue;
            }
            long[] w = p.weight().array().getShape().getShape();
            // PEFT: kaiming_uniform_(A, a=sqrt(5)) -> bound = 1/sqrt(fan_in)
            double bound = 1.0 / Math.sqrt(w[1]);
            float[] a = new float[(int) (cfg.rank() * w[1])];
            for (int i = 0; i < a.length; i++) {
                a[i] = (float) ((rnd.nextDouble() * 2 - 1) * bound);
            }
            NDArray aArr = WeightLoader.place(manager, manager.create(a, new Shape(cfg.rank(), w[1])), dataType);
            NDArray bArr = WeightLoader.place(manager, manager.zeros(new Shape(w[0], cfg.rank())), dataType);
            attachLora(p, cfg, aArr, bArr);
        }
        this.lora = cfg;
        setBaseTrainable(false);
    }

    /** Installs given A/B arrays (loaded from a PEFT adapter) on one projection. */
    void attachLora(Projection p, LoraConfig cfg, NDArray a, NDArray b) {
        String prefix = "base_model.model." + p.name();
        Parameter pa = new Parameter(prefix + ".lora_A.weight", a, true);
        Parameter pb = new Parameter(prefix + ".lora_B.weight", b, true);
        p.setLora(new LoraAdapter(pa, pb, scalars.of(cfg.scale()), cfg.dropout()));
    }

    void setLoraConfig(LoraConfig cfg) {
        this.lora = cfg;
        setBaseTrainable(false);
    }

    /** Folds every adapter into its base weight ({@code W += scale * B A}) and removes the adapters. */
    public void mergeLora() {
        if (lora == null) {
            return;
        }
        boolean was = Tensors.gradMode(false);
        try {
            for (Projection p : projections()) {
                LoraAdapter ad = p.lora();
                if (ad == null) {
                    continue;
                }
                // the base keeps its stored type (bf16 under bf16-true), as PEFT merges
                NDArray merged = stored(p.weight().array().add(ad.delta()));
                p.weight().replace(merged);
                ad.a().array().close();
                ad.b().array().close();
                p.setLora(null);
            }
        } finally {
            Tensors.gradMode(was);
        }
        lora = null;
        setBaseTrainable(true);
    }

    @Override
    public void close() {
        scalars.close();
        manager.close();
    }

    /** {@code a} (a new array) as this model stores a base weight, owned by the model's manager. */
    private NDArray stored(NDArray a) {
        return store(a, compute, manager);
    }

    private static NDArray store(NDArray a, Compute compute, NDManager manager) {
        NDArray s = compute.weight(a);
        if (s != a) {
            a.close();
        }
        return Tensors.keep(s, manager);
    }

    /**
     * Builds the model from its loaded tensors (fp32 or {@code dataType}, in {@code manager}); base weights are
     * converted to how {@code compute} stores them as they are placed.
     */
    static Decoder assemble(ModelConfig cfg, NDManager manager, DataType dataType, Compute compute,
                            java.util.function.Function<String, NDArray> loaded) {
        Scalars scalars = new Scalars(manager, dataType);
        java.util.function.Function<String, NDArray> weights = name -> store(loaded.apply(name), compute, manager);
        Parameter embed = new Parameter("model.embed_tokens.weight", weights.apply("model.embed_tokens.weight"), true);
        List<DecoderLayer> layers = new ArrayList<>();
        for (int i = 0; i < cfg.numLayers(); i++) {
            String p = "model.layers." + i + ".";
            layers.add(new DecoderLayer(cfg, i,
                    new Parameter(p + "input_layernorm.weight", weights.apply(p + "input_layernorm.weight"), true),
                    new Parameter(p + "post_attention_layernorm.weight",
                            weights.apply(p + "post_attention_layernorm.weight"), true),
                    projection(weights, p + "self_attn.q_proj", cfg.qkvBias(), compute),
                    projection(weights, p + "self_attn.k_proj", cfg.qkvBias(), compute),
                    projection(weights, p + "self_attn.v_proj", cfg.qkvBias(), compute),
                    projection(weights, p + "self_attn.o_proj", cfg.oBias(), compute),
                    projection(weights, p + "mlp.gate_proj", cfg.mlpBias(), compute),
                    projection(weights, p + "mlp.up_proj", cfg.mlpBias(), compute),
                    projection(weights, p + "mlp.down_proj", cfg.mlpBias(), compute),
                    compute));
        }
        Parameter norm = new Parameter("model.norm.weight", weights.apply("model.norm.weight"), true);
        Parameter head = cfg.tieWordEmbeddings() ? embed
                : new Parameter("lm_head.weight", weights.apply("lm_head.weight"), true);
        return new Decoder(cfg, manager, dataType, compute, scalars, embed, layers, norm, head);
    }

    private static Projection projection(java.util.function.Function<String, NDArray> w, String name, boolean bias,
                                         Compute compute) {
        Parameter weight = new Parameter(name + ".weight", w.apply(name + ".weight"), true);
        Parameter b = bias ? new Parameter(name + ".bias", w.apply(name + ".bias"), true) : null;
        return new Projection(name, weight, b, compute);
    }

    /** Shapes every checkpoint tensor must have, by name, in checkpoint order. */
    public static java.util.LinkedHashMap<String, long[]> expectedShapes(ModelConfig c) {
        java.util.LinkedHashMap<String, long[]> s = new java.util.LinkedHashMap<>();
        long h = c.hiddenSize();
        long qd = (long) c.numHeads() * c.headDim();
        long kvd = (long) c.numKvHeads() * c.headDim();
        s.put("model.embed_tokens.weight", new long[] {c.vocabSize(), h});
        for (int i = 0; i < c.numLayers(); i++) {
            String p = "model.layers." + i + ".";
            s.put(p + "input_layernorm.weight", new long[] {h});
            s.put(p + "self_attn.q_proj.weight", new long[] {qd, h});
            s.put(p + "self_attn.k_proj.weight", new long[] {kvd, h});
            s.put(p + "self_attn.v_proj.weight", new long[] {kvd, h});
            if (c.qkvBias()) {
                s.put(p + "self_attn.q_proj.bias", new long[] {qd});
                s.put(p + "self_attn.k_proj.bias", new long[] {kvd});
                s.put(p + "self_attn.v_proj.bias", new long[] {kvd});
            }
            s.put(p + "self_attn.o_proj.weight", new long[] {h, qd});
            if (c.oBias()) {
                s.put(p + "self_attn.o_proj.bias", new long[] {h});
            }
            s.put(p + "mlp.gate_proj.weight", new long[] {c.intermediateSize(), h});
            s.put(p + "mlp.up_proj.weight", new long[] {c.intermediateSize(), h});
            s.put(p + "mlp.down_proj.weight", new long[] {h, c.intermediateSize()});
            if (c.mlpBias()) {
                s.put(p + "mlp.gate_proj.bias", new long[] {c.intermediateSize()});
                s.put(p + "mlp.up_proj.bias", new long[] {c.intermediateSize()});
                s.put(p + "mlp.down_proj.bias", new long[] {h});
            }
            s.put(p + "post_attention_layernorm.weight", new long[] {h});
        }
        s.put("model.norm.weight", new long[] {h});
        if (!c.tieWordEmbeddings()) {
            s.put("lm_head.weight", new long[] {c.vocabSize(), h});
        }
        return s;
    }

    /** The engine is started before any model exists, so errors about natives surface early. */
    static {
        Engines.pytorch();
    }
}
