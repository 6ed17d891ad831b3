package org.sft4j.model;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;

/**
 * Every tensor of a checkpoint, by its Hugging Face name, with its shape and role: what {@link Family} and
 * {@link ModelConfig} imply. The loader checks a checkpoint against it, the decoder is assembled from it, random
 * initialisation, LoRA targeting and parameter counts read it.
 *
 * <p>One block holds the slots below that its family has, in this order:
 * <pre>
 *   ATTN_NORM                                  input_layernorm
 *   Q K V | QKV                                self_attn.{q,k,v}_proj | self_attn.qkv_proj (Phi-3)
 *   Q_NORM K_NORM                              self_attn.{q,k}_norm, per head (Qwen3, Gemma 3)
 *   O                                          self_attn.o_proj
 *   ATTN_OUT_NORM                              post_attention_layernorm (Gemma: after attention)
 *   MLP_NORM                                   post_attention_layernorm (Llama), pre_feedforward_layernorm (Gemma)
 *   GATE UP | GATE_UP                          mlp.{gate,up}_proj | mlp.gate_up_proj (Phi-3)
 *   DOWN                                       mlp.down_proj
 *   MLP_OUT_NORM                               post_feedforward_layernorm (Gemma)
 * </pre>
 */
public final class Layout {

    /** A place in a block. */
    public enum Slot { ATTN_NORM, Q, K, V, QKV, Q_NORM, K_NORM, O, ATTN_OUT_NORM, MLP_NORM, GATE, UP, GATE_UP, DOWN, MLP_OUT_NORM }

    /** What a tensor is, for initialisation: embeddings and matrices normal, norms 1 (0 for (1 + w) norms), biases 0. */
    public enum Role { EMBEDDING, MATRIX, NORM, BIAS }

    /** One checkpoint tensor. */
    public record Tensor(String name, long[] shape, Role role) {}

    public static final String EMBED = "model.embed_tokens.weight";
    public static final String FINAL_NORM = "model.norm.weight";
    public static final String LM_HEAD = "lm_head.weight";

    private final ModelConfig cfg;
    private final List<Slot> slots;

    private Layout(ModelConfig cfg) {
        this.cfg = cfg;
        Family f = cfg.family();
        List<Slot> s = new ArrayList<>(List.of(Slot.ATTN_NORM));
        s.addAll(f.fusedQkv() ? List.of(Slot.QKV) : List.of(Slot.Q, Slot.K, Slot.V));
        if (f.qkNorm()) {
            s.addAll(List.of(Slot.Q_NORM, Slot.K_NORM));
        }
        s.add(Slot.O);
        if (f.sandwichNorms()) {
            s.add(Slot.ATTN_OUT_NORM);
        }
        s.add(Slot.MLP_NORM);
        s.addAll(f.fusedGateUp() ? List.of(Slot.GATE_UP) : List.of(Slot.GATE, Slot.UP));
        s.add(Slot.DOWN);
        if (f.sandwichNorms()) {
            s.add(Slot.MLP_OUT_NORM);
        }
        this.slots = List.copyOf(s);
    }

    public static Layout of(ModelConfig cfg) {
        return new Layout(cfg);
    }

    /** The slots of one block, in checkpoint order. */
    public List<Slot> slots() {
        return slots;
    }

    public boolean has(Slot slot) {
        return slots.contains(slot);
    }

    /** The module name of a slot, e.g. {@code model.layers.3.self_attn.q_proj}. */
    public String module(int layer, Slot slot) {
        return "model.layers." + layer + "." + relativeName(slot);
    }

    private String relativeName(Slot slot) {
        return switch (slot) {
            case ATTN_NORM -> "input_layernorm";
            case Q -> "self_attn.q_proj";
            case K -> "self_attn.k_proj";
            case V -> "self_attn.v_proj";
            case QKV -> "self_attn.qkv_proj";
            case Q_NORM -> "self_attn.q_norm";
            case K_NORM -> "self_attn.k_norm";
            case O -> "self_attn.o_proj";
            case ATTN_OUT_NORM -> "post_attention_layernorm";
            case MLP_NORM -> cfg.family().sandwichNorms() ? "pre_feedforward_layernorm" : "post_attention_layernorm";
            case GATE -> "mlp.gate_proj";
            case UP -> "mlp.up_proj";
            case GATE_UP -> "mlp.gate_up_proj";
            case DOWN -> "mlp.down_proj";
            case MLP_OUT_NORM -> "post_feedforward_layernorm";
        };
    }

    public static boolean isNorm(Slot slot) {
        return switch (slot) {
            case ATTN_NORM, Q_NORM, K_NORM, ATTN_OUT_NORM, MLP_NORM, MLP_OUT_NORM -> true;
            default -> false;
        };
    }

    /** The weight's shape: [out, in] for a projection, [width] for a norm. */
    public long[] shape(Slot slot) {
        long h = cfg.hiddenSize();
        long d = cfg.headDim();
        long qd = cfg.numHeads() * d;
        long kvd = cfg.numKvHeads() * d;
        long i = cfg.intermediateSize();
        return switch (slot) {
            case ATTN_NORM, ATTN_OUT_NORM, MLP_NORM, MLP_OUT_NORM -> new long[] {h};
            case Q_NORM, K_NORM -> new long[] {d};
            case Q -> new long[] {qd, h};
            case K, V -> new long[] {kvd, h};
            case QKV -> new long[] {qd + 2 * kvd, h};
            case O -> new long[] {h, qd};
            case GATE, UP -> new long[] {i, h};
            case GATE_UP -> new long[] {2 * i, h};
            case DOWN -> new long[] {h, i};
        };
    }

    /** Whether the projection in {@code slot} has a bias. */
    public boolean hasBias(Slot slot) {
        return switch (slot) {
            case Q, K, V, QKV -> cfg.qkvBias();
            case O -> cfg.oBias();
            case GATE, UP, GATE_UP, DOWN -> cfg.mlpBias();
            default -> false;
        };
    }

    /** The projection names LoRA can target ({@code q_proj}, ..., or Phi-3's {@code qkv_proj}, {@code gate_up_proj}). */
    public List<String> projectionKinds() {
        List<String> kinds = new ArrayList<>();
        for (Slot s : slots) {
            if (!isNorm(s)) {
                String n = relativeName(s);
                kinds.add(n.substring(n.lastIndexOf('.') + 1));
            }
        }
        return kinds;
    }

    /** Every tensor of the checkpoint in order (the LM head only when not tied). */
    public List<Tensor> tensors() {
        List<Tensor> out = new ArrayList<>();
        out.add(new Tensor(EMBED, new long[] {cfg.vocabSize(), cfg.hiddenSize()}, Role.EMBEDDING));
        for (int layer = 0; layer < cfg.numLayers(); layer++) {
            for (Slot s : slots) {
                String m = module(layer, s);
                long[] shape = shape(s);
                out.add(new Tensor(m + ".weight", shape, isNorm(s) ? Role.NORM : Role.MATRIX));
                if (hasBias(s)) {
                    out.add(new Tensor(m + ".bias", new long[] {shape[0]}, Role.BIAS));
                }
            }
        }
        out.add(new Tensor(FINAL_NORM, new long[] {cfg.hiddenSize()}, Role.NORM));
        if (!cfg.tieWordEmbeddings()) {
            out.add(new Tensor(LM_HEAD, new long[] {cfg.vocabSize(), cfg.hiddenSize()}, Role.MATRIX));
        }
        return out;
    }

    /** Shapes by name, in checkpoint order. */
    public LinkedHashMap<String, long[]> shapes() {
        LinkedHashMap<String, long[]> s = new LinkedHashMap<>();
        tensors().forEach(t -> s.put(t.name(), t.shape()));
        return s;
    }

    /** Number of parameters (the embedding counted once when tied). */
    public long parameterCount() {
        long n = 0;
        for (Tensor t : tensors()) {
            long k = 1;
            for (long d : t.shape()) {
                k *= d;
            }
            n += k;
        }
        return n;
    }
}
