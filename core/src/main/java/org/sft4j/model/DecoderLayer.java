package org.sft4j.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import org.sft4j.model.Layout.Slot;
import org.sft4j.nd.Compute;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * One pre-norm transformer block, the slots its {@link Layout} has (n: RMSNorm, or Gemma's {@code (1 + w)} one):
 * <pre>
 *   q, k, v = q_proj(n(x)), k_proj(n(x)), v_proj(n(x))        or split(qkv_proj(n(x)))   (Phi-3)
 *   q, k    = q_norm(q), k_norm(k)                            per head                   (Qwen3, Gemma 3)
 *   a = o_proj(attention(rope(q), rope(k), v))                rope on the first R dims   (Phi-3: R &lt; D)
 *                                                             scores soft-capped         (Gemma 2)
 *   h = x + a                                                 x + post_attention_norm(a) (Gemma)
 *   m = down_proj(act(gate_proj(n(h))) * up_proj(n(h)))       act: silu, or GELU-tanh    (Gemma)
 *   y = h + m                                                 h + post_feedforward_norm(m) (Gemma)
 * </pre>
 * A plain function of its input and its own weights: the caller passes the RoPE tables and mask of its layer type.
 * Inside, the B x T positions are rows of one matrix: a product of a 2-D input is one GEMM node in autograd, where a
 * 3-D one adds a view before and after it (same GEMM, same bits; ten autograd nodes a layer fewer for the host).
 */
final class DecoderLayer {

    private final ModelConfig cfg;
    private final int index;
    private final Map<Slot, Parameter> norms;
    private final Map<Slot, Projection> projections;
    private final Compute compute;

    /**
     * @param norms the norm weights of the block, by slot
     * @param projections the linear layers of the block, by slot, in checkpoint order
     */
    DecoderLayer(ModelConfig cfg, int index, Map<Slot, Parameter> norms, Map<Slot, Projection> projections,
                 Compute compute) {
        this.cfg = cfg;
        this.index = index;
        this.norms = new EnumMap<>(norms);
        this.projections = new EnumMap<>(projections);
        this.compute = compute;
    }

    /** The same weights (and adapters), computed with {@code other}. */
    DecoderLayer computingWith(Compute other) {
        Map<Slot, Projection> ps = new EnumMap<>(Slot.class);
        projections.forEach((slot, p) -> ps.put(slot, p.computingWith(other)));
        return new DecoderLayer(cfg, index, norms, ps, other);
    }

    /** The linear layers, in checkpoint order (q, k, v, o, gate, up, down; Phi-3: qkv, o, gate_up, down). */
    List<Projection> projections() {
        return List.copyOf(projections.values());
    }

    /** Every weight of the block in checkpoint order (each projection's bias after its weight). */
    List<Parameter> parameters() {
        List<Parameter> ps = new ArrayList<>();
        for (Slot s : Slot.values()) {
            if (norms.containsKey(s)) {
                ps.add(norms.get(s));
            } else if (projections.containsKey(s)) {
                Projection p = projections.get(s);
                ps.add(p.weight());
                if (p.bias() != null) {
                    ps.add(p.bias());
                }
            }
        }
        return ps;
    }

    /**
     * @param cos the RoPE table of this layer's type (B, T, 1, R)
     * @param mask additive (B, 1, T, S) for this layer's window, or null for plain causal attention
     *        (see Compute.implicitCausalMask)
     */
    NDArray forward(NDArray x, NDArray cos, NDArray sin, NDArray mask, KvCache cache, boolean training) {
        return forward(x, cos, sin, mask, cache, training, false);
    }

    /**
     * The forward again, as a checkpointed layer's backward needs it: every gradient's graph, but the output's values
     * are left uncomputed where nothing reads them. Only the backward of {@code y = h + down(..)} reaches down's
     * product, and an add's backward reads no values, so its GEMM (a third of the layer's products' work in Llama's
     * shapes) is skipped; with a post-feedforward norm (Gemma), whose backward reads it, it is computed.
     */
    NDArray recompute(NDArray x, NDArray cos, NDArray sin, NDArray mask, boolean training) {
        return forward(x, cos, sin, mask, null, training, !norms.containsKey(Slot.MLP_OUT_NORM));
    }

    private NDArray forward(NDArray x, NDArray cos, NDArray sin, NDArray mask, KvCache cache, boolean training,
                            boolean downGraphOnly) {
        Shape shape = x.getShape();                                                                  // (B, T, C)
        NDArray rows = x.reshape(shape.get(0) * shape.get(1), shape.get(2));                        // (B T, C)
        NDArray a = attention(norm(Slot.ATTN_NORM, rows), shape.get(0), shape.get(1), cos, sin, mask, cache, training);
        NDArray h = rows.add(norms.containsKey(Slot.ATTN_OUT_NORM) ? norm(Slot.ATTN_OUT_NORM, a) : a);
        NDArray m = mlp(norm(Slot.MLP_NORM, h), training, downGraphOnly);
        return h.add(norms.containsKey(Slot.MLP_OUT_NORM) ? norm(Slot.MLP_OUT_NORM, m) : m).reshape(shape);
    }

    private NDArray norm(Slot slot, NDArray x) {
        NDArray w = norms.get(slot).array();
        return cfg.family().plusOneNorms() ? compute.rmsNormPlusOne(x, w, cfg.rmsNormEps())
                : compute.rmsNorm(x, w, cfg.rmsNormEps());
    }

    /** @param x the normed rows (B T, C) of a batch of B sequences of T positions */
    private NDArray attention(NDArray x, long b, long t, NDArray cos, NDArray sin, NDArray mask, KvCache cache,
                              boolean training) {
        int hd = cfg.headDim();
        NDArray q;
        NDArray k;
        NDArray v;
        Projection qkv = projections.get(Slot.QKV);
        if (qkv != null) {
            long qd = (long) cfg.numHeads() * hd;
            long kvd = (long) cfg.numKvHeads() * hd;
            NDList parts = qkv.apply(x, training).split(new long[] {qd, qd + kvd}, 1);
            q = parts.get(0);
            k = parts.get(1);
            v = parts.get(2);
        } else {
            q = projections.get(Slot.Q).apply(x, training);   // rotated in the activations' type
            k = projections.get(Slot.K).apply(x, training);
            v = projections.get(Slot.V).applyInProductType(x, training);   // attention takes it as it is
        }
        // normed and rotated as (B, T, heads, D), the product's own layout (the tables broadcast over the heads, and a
        // rotation of a contiguous tensor copies nothing first), then (B, heads, T, D) views for attention
        NDArray qs = heads(q, b, t, cfg.numHeads(), hd);
        NDArray ks = heads(k, b, t, cfg.numKvHeads(), hd);
        if (norms.containsKey(Slot.Q_NORM)) {
            qs = norm(Slot.Q_NORM, qs);
            ks = norm(Slot.K_NORM, ks);
        }
        qs = compute.rope(qs, cos, sin).transpose(0, 2, 1, 3);                                      // (B, H, T, D)
        ks = compute.rope(ks, cos, sin).transpose(0, 2, 1, 3);                                      // (B, kvH, T, D)
        NDArray vs = heads(v, b, t, cfg.numKvHeads(), hd).transpose(0, 2, 1, 3);
        if (cache != null) {
            NDArray[] full = cache.append(index, ks, vs);                                             // (B, kvH, S, D)
            ks = full[0];
            vs = full[1];
        }
        NDArray out = cfg.attentionSoftcap() > 0                                                     // (B, H, T, D)
                ? compute.softcappedAttention(qs, ks, vs, mask, cfg.attentionScale(), cfg.kvGroups(), cfg.attentionSoftcap())
                : compute.attention(qs, ks, vs, mask, cfg.attentionScale(), cfg.kvGroups());
        // the residual add widens the product exactly: no fp32 copy of it
        return projections.get(Slot.O).applyInProductType(out.transpose(0, 2, 1, 3).reshape(b * t,
                (long) cfg.numHeads() * hd), training);
    }

    /** Rows (B T, heads D) as (B, T, heads, D). */
    private static NDArray heads(NDArray x, long b, long t, int heads, int hd) {
        return x.reshape(b, t, heads, hd);
    }

    private NDArray mlp(NDArray x, boolean training, boolean downGraphOnly) {
        NDArray g;
        NDArray u;
        Projection gateUp = projections.get(Slot.GATE_UP);
        if (gateUp != null) {
            NDList halves = gateUp.applyInProductType(x, training).split(2, 1);   // gate rows first
            g = halves.get(0);
            u = halves.get(1);
        } else {
            g = projections.get(Slot.GATE).applyInProductType(x, training);
            u = projections.get(Slot.UP).applyInProductType(x, training);
        }
        NDArray gated = cfg.activation().equals("silu") ? compute.siluMul(g, u) : compute.geluTanhMul(g, u);
        Projection down = projections.get(Slot.DOWN);
        return downGraphOnly ? down.applyGraphOnly(gated, training)
                : down.applyInProductType(gated, training);   // widened by the residual add
    }
}
