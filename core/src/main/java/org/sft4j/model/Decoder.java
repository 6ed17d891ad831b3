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
import org.sft4j.nd.StepScope;
import org.sft4j.nd.Tensors;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The decoder-only transformer of every supported {@link Family} (Llama, Qwen2, Mistral, Qwen3, Gemma 2 and 3, Phi-3), built
 * from the family's {@link Layout} and holding its weights by their Hugging Face names.
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
    private final NDArray embedScale;
    private final Map<RopeConfig, Rope> ropes = new LinkedHashMap<>();
    private final Compute compute;
    private LoraConfig lora;
    private boolean borrowed;   // computingWith's: another decoder's memory
    private PendingWeights pending;   // loadToShard's: base weights not read yet

    /** @param embedScale what embeddings are multiplied by (Gemma's √hidden in the weights' type), or null */
    Decoder(ModelConfig config, NDManager manager, DataType dataType, Compute compute, Scalars scalars, Parameter embed,
            NDArray embedScale, List<DecoderLayer> layers, Parameter finalNorm, Parameter lmHead) {
        this.config = config;
        this.manager = manager;
        this.dataType = dataType;
        this.compute = compute;
        this.scalars = scalars;
        this.embed = embed;
        this.embedScale = embedScale;
        this.layers = layers;
        this.finalNorm = finalNorm;
        this.lmHead = lmHead;
        for (RopeConfig r : config.ropes().values()) {
            ropes.computeIfAbsent(r, k -> new Rope(k, manager, dataType, compute));   // one per distinct type
        }
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
        return load(dir, device, compute, false);
    }

    /**
     * As {@link #load(java.nio.file.Path, Device, Compute)}, each tensor read straight into the type {@code compute}
     * stores it in; {@code frozenBase}: the base will be frozen under LoRA, so its projections and LM head are read in
     * the product type of a mixed precision too (no fp32 copy of weights nothing updates).
     */
    public static Decoder load(java.nio.file.Path dir, Device device, Compute compute, boolean frozenBase)
            throws java.io.IOException {
        return WeightLoader.load(dir, device, compute, frozenBase);
    }

    /**
     * As {@link #load(java.nio.file.Path, Device, Compute, boolean)} for a sharded run: the base weights are checked
     * but not read, and stand for their tensors (shape and type, no memory) until the sharding reads each rank's
     * slice of them from {@link #pendingWeights()}, so no rank holds the whole model. Nothing can compute with the
     * model before {@link #weightsRead()}.
     */
    public static Decoder loadToShard(java.nio.file.Path dir, Device device, Compute compute, boolean frozenBase)
            throws java.io.IOException {
        return WeightLoader.loadToShard(dir, device, compute, frozenBase);
    }

    /** A model with weights initialised as transformers does (normal(0, initializer_range), norms 1). */
    public static Decoder randomInit(ModelConfig config, long seed, Device device) {
        return randomInit(config, seed, device, Compute.forPrecision(Precision.FP32));
    }

    /** As {@link #randomInit(ModelConfig, long, Device)}, computing with {@code compute}. */
    public static Decoder randomInit(ModelConfig config, long seed, Device device, Compute compute) {
        return WeightLoader.randomInit(config, seed, device, DataType.FLOAT32, compute);
    }

    /**
     * This model's parameters (the same objects: an update of one is an update of the other), computed with
     * {@code other}: RoPE tables and Gemma's embedding scale in {@code other}'s types, the adapters shared. For a
     * sharded run whose working copy computes in bf16 while the masters stay fp32, as DeepSpeed's and FSDP2's bf16
     * do. Closing it closes nothing: the original owns the memory.
     */
    public Decoder computingWith(Compute other) {
        List<DecoderLayer> ls = new ArrayList<>();
        layers.forEach(l -> ls.add(l.computingWith(other)));
        NDArray scale = embedScale == null ? null
                : store(embedScale.duplicate(), other, manager, false);
        Decoder d = new Decoder(config, manager, dataType, other, scalars, embed, scale, ls, finalNorm, lmHead);
        d.lora = lora;
        d.borrowed = true;
        return d;
    }

    /** The base weights still to be read from the checkpoint (see {@link #loadToShard}); empty once read. */
    public java.util.Optional<PendingWeights> pendingWeights() {
        return java.util.Optional.ofNullable(pending);
    }

    /** Every parameter has its values now (the sharding read them): the checkpoint's files are closed. */
    public void weightsRead() throws java.io.IOException {
        if (pending != null) {
            PendingWeights p = pending;
            pending = null;
            p.close();
        }
    }

    void pending(PendingWeights weights) {
        this.pending = weights;
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
        // a layer's intermediates and its input are freed as it ends (autograd holds what backward needs), not all
        // layers' when the forward does
        for (int i = 0; i < layers.size(); i++) {
            int layer = i;
            NDArray layerInput = x;
            x = StepScope.freeIntermediates(() -> layer(layer, layerInput, shared, cache));
            layerInput.close();
        }
        if (cache != null) {
            cache.advance(in.length());
        }
        NDArray hidden = norm(x);
        x.close();
        return hidden;
    }

    // ---- one layer at a time: what layer-wise training (activation checkpointing, ZeRO-3's per-layer gathers) runs

    /**
     * What the layers of one pass read besides their input, per layer: the rotary tables of its type (B, T, 1, R) and
     * the additive attention mask of its window (null for plain causal attention where the kernels apply it).
     */
    public record LayerInputs(List<NDArray> cos, List<NDArray> sin, List<NDArray> masks, boolean training) {}

    /** The token embeddings (B, T, C) of a batch, scaled where the family does (Gemma): the input of layer 0. */
    public NDArray embed(ModelInputs in, NDManager scope) {
        if (pending != null) {
            throw new IllegalStateException("the weights of " + pending.dir() + " are not read yet (loaded to shard)");
        }
        int b = in.batchSize();
        int t = in.length();
        long[] flat = new long[b * t];
        for (int i = 0; i < b; i++) {
            System.arraycopy(in.inputIds()[i], 0, flat, i * t, t);
        }
        NDArray x = Tensors.embedding(scope.create(flat, new Shape(b, t)), embed.array());
        if (embedScale == null) {
            return x;
        }
        NDArray scaled = x.mul(embedScale);
        x.close();
        return scaled;
    }

    /** The rotary tables and masks of a pass without a KV cache (training, validation). */
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
        // one mask per window (full and sliding layers), one pair of RoPE tables per layer type's parameters
        Map<Integer, NDArray> byWindow = new HashMap<>();
        Map<RopeConfig, NDList> byRope = new HashMap<>();
        List<NDArray> cos = new ArrayList<>();
        List<NDArray> sin = new ArrayList<>();
        List<NDArray> masks = new ArrayList<>();   // nulls allowed: plain causal layers
        for (int i = 0; i < layers.size(); i++) {
            int window = config.window(i);
            if (!byWindow.containsKey(window)) {
                byWindow.put(window, mask(scope, in, keyValid, cache, past, t, window));
            }
            NDList cs = byRope.computeIfAbsent(config.rope(i), r -> ropes.get(r).tables(scope, in.positionIds()));
            cos.add(cs.get(0));
            sin.add(cs.get(1));
            masks.add(byWindow.get(window));
        }
        return new LayerInputs(cos, sin, java.util.Collections.unmodifiableList(masks), training);
    }

    /** The additive mask of layers with {@code window} (0: full), or null where the kernels' own causal mask will do. */
    private NDArray mask(NDManager scope, ModelInputs in, int[][] keyValid, KvCache cache, int past, int t, int window) {
        boolean causalOnly = compute.implicitCausalMask() && config.attentionSoftcap() == 0 && cache == null
                && in.segmentIds() == null && allOnes(keyValid) && (window <= 0 || window >= t);
        return causalOnly ? null : AttentionMask.build(scope, keyValid, in.segmentIds(), past, t, window, dataType,
                cache == null ? 0 : cache.firstKey(window));
    }

    public int numLayers() {
        return layers.size();
    }

    /** Decoder layer {@code i} on its input (B, T, C) -> its output, attached to the input's manager. */
    public NDArray layer(int i, NDArray x, LayerInputs shared) {
        return layer(i, x, shared, null);
    }

    /**
     * Decoder layer {@code i}'s forward again, for a backward through it (activation checkpointing): its graph, with
     * the output's values only where the backward reads them (see DecoderLayer.recompute). Nothing but
     * {@code backward} may read the result.
     */
    public NDArray recomputeLayer(int i, NDArray x, LayerInputs shared) {
        return layers.get(i).recompute(x, shared.cos().get(i), shared.sin().get(i), shared.masks().get(i),
                shared.training());
    }

    private NDArray layer(int i, NDArray x, LayerInputs shared, KvCache cache) {
        return layers.get(i).forward(x, shared.cos().get(i), shared.sin().get(i), shared.masks().get(i), cache,
                shared.training());
    }

    /** The final norm on the last layer's output: the hidden states the LM head reads. */
    public NDArray norm(NDArray x) {
        return config.family().plusOneNorms() ? compute.rmsNormPlusOne(x, finalNorm.array(), config.rmsNormEps())
                : compute.rmsNorm(x, finalNorm.array(), config.rmsNormEps());
    }

    /** Every parameter of layer {@code i}: its base weights in checkpoint order, then its LoRA A/B. */
    public List<Parameter> layerParameters(int i) {
        DecoderLayer l = layers.get(i);
        List<Parameter> ps = new ArrayList<>(l.parameters());
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
        java.util.function.UnaryOperator<NDArray> linear = compute.head(lmHead.array());
        double cap = config.finalLogitSoftcap();
        return cap > 0 ? h -> compute.softcap(linear.apply(h), cap) : linear;
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

    /**
     * Whether a pass whose furthest position is {@code position} is the first to need longrope's long factors: the
     * keys cached before it were rotated with the short ones.
     */
    public boolean ropeSwitchesAt(long position) {
        return ropes.keySet().stream().anyMatch(r -> r.usesLongFactors(position) && !r.usesLongFactors(position - 1));
    }

    /** A new KV cache sized for this model (sliding layers keep only their window), owned by the caller. */
    public KvCache newCache(NDManager parent) {
        int[] windows = new int[layers.size()];
        for (int i = 0; i < windows.length; i++) {
            windows[i] = config.window(i);
        }
        return new KvCache(parent, windows);
    }

    /** Every base weight in checkpoint order (the tied head is not listed twice). */
    public List<Parameter> baseParameters() {
        List<Parameter> ps = new ArrayList<>();
        ps.add(embed);
        for (DecoderLayer l : layers) {
            ps.addAll(l.parameters());
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

    /** All projections of all layers, in checkpoint order per layer (q..down; Phi-3: qkv, o, gate_up, down). */
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
     * projections and freezes the base weights. Targets are this family's projection names ({@code all}: every one);
     * a fused projection (Phi-3's {@code qkv_proj}) gets one adapter, as PEFT gives it.
     */
    public void addLora(LoraConfig requested, long seed) {
        if (lora != null) {
            throw new IllegalStateException("the model already has LoRA adapters; merge or reload first");
        }
        LoraConfig cfg = resolve(requested);
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
        setLoraConfig(cfg);
    }

    /** {@code cfg} with {@code all} expanded to this model's projections, and every target checked against them. */
    LoraConfig resolve(LoraConfig cfg) {
        return cfg.resolve(Layout.of(config).projectionKinds(), config.modelType());
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
        // frozen matrices need no fp32 master: stored as their products read them (a no-op when loaded so)
        for (Parameter p : baseParameters()) {
            if (WeightLoader.frozenMatrix(p.name(), config)) {
                NDArray frozen = compute.weight(p.array(), true);
                if (frozen != p.array()) {
                    p.replace(Tensors.keep(frozen, manager));
                }
            }
        }
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
        if (borrowed) {
            return;
        }
        try {
            weightsRead();
        } catch (java.io.IOException e) {
            // files opened only for reading: nothing is lost when closing one fails
        }
        scalars.close();
        manager.close();
    }

    /** {@code a} (a new array) as this model stores a base weight, owned by the model's manager. */
    private NDArray stored(NDArray a) {
        return store(a, compute, manager, false);
    }

    private static NDArray store(NDArray a, Compute compute, NDManager manager, boolean frozenMatrix) {
        NDArray s = compute.weight(a, frozenMatrix);
        if (s != a) {
            a.close();
        }
        return Tensors.keep(s, manager);
    }

    /**
     * Builds the model from its loaded tensors (in {@code manager}), named as {@link Layout} names them; base weights
     * are converted to how {@code compute} stores them as they are placed (nothing to do when they were read in that
     * type), with the projections and head as frozen matrices when {@code frozenBase}.
     */
    static Decoder assemble(ModelConfig cfg, NDManager manager, DataType dataType, Compute compute, boolean frozenBase,
                            java.util.function.Function<String, NDArray> loaded) {
        Layout layout = Layout.of(cfg);
        Scalars scalars = new Scalars(manager, dataType);
        java.util.function.Function<String, Parameter> weight = name -> new Parameter(name,
                store(loaded.apply(name), compute, manager, frozenBase && WeightLoader.frozenMatrix(name, cfg)), true);
        Parameter embed = weight.apply(Layout.EMBED);
        List<DecoderLayer> layers = new ArrayList<>();
        for (int i = 0; i < cfg.numLayers(); i++) {
            Map<Layout.Slot, Parameter> norms = new java.util.EnumMap<>(Layout.Slot.class);
            Map<Layout.Slot, Projection> projections = new java.util.EnumMap<>(Layout.Slot.class);
            for (Layout.Slot slot : layout.slots()) {
                String m = layout.module(i, slot);
                if (Layout.isNorm(slot)) {
                    norms.put(slot, weight.apply(m + ".weight"));
                } else {
                    projections.put(slot, new Projection(m, weight.apply(m + ".weight"),
                            layout.hasBias(slot) ? weight.apply(m + ".bias") : null, compute));
                }
            }
            layers.add(new DecoderLayer(cfg, i, norms, projections, compute));
        }
        Parameter norm = weight.apply(Layout.FINAL_NORM);
        Parameter head = cfg.tieWordEmbeddings() ? embed : weight.apply(Layout.LM_HEAD);
        // Gemma: sqrt(hidden) as a tensor cast to the embedding's type, as Gemma3TextScaledWordEmbedding does
        NDArray scale = cfg.family().scaledEmbedding()
                ? store(manager.create((float) Math.sqrt(cfg.hiddenSize())), compute, manager, false) : null;
        return new Decoder(cfg, manager, dataType, compute, scalars, embed, scale, layers, norm, head);
    }

    /** Shapes every checkpoint tensor must have, by name, in checkpoint order. */
    public static java.util.LinkedHashMap<String, long[]> expectedShapes(ModelConfig c) {
        return Layout.of(c).shapes();
    }

    /** The engine is started before any model exists, so errors about natives surface early. */
    static {
        Engines.pytorch();
    }
}
