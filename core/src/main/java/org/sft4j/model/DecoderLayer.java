package org.sft4j.model;

import ai.djl.ndarray.NDArray;
import org.sft4j.nd.Compute;

import java.util.List;

/**
 * One pre-norm transformer block:
 * <pre>
 *   h = x + o_proj(attention(rope(q_proj(n1(x))), rope(k_proj(n1(x))), v_proj(n1(x))))
 *   y = h + down_proj(silu(gate_proj(n2(h))) * up_proj(n2(h)))
 * </pre>
 */
final class DecoderLayer {

    private final ModelConfig cfg;
    private final int index;
    private final Parameter inputNorm;
    private final Parameter postAttentionNorm;
    final Projection q;
    final Projection k;
    final Projection v;
    final Projection o;
    final Projection gate;
    final Projection up;
    final Projection down;
    private final Compute compute;

    DecoderLayer(ModelConfig cfg, int index, Parameter inputNorm, Parameter postAttentionNorm, Projection q,
                 Projection k, Projection v, Projection o, Projection gate, Projection up, Projection down,
                 Compute compute) {
        this.cfg = cfg;
        this.index = index;
        this.inputNorm = inputNorm;
        this.postAttentionNorm = postAttentionNorm;
        this.q = q;
        this.k = k;
        this.v = v;
        this.o = o;
        this.gate = gate;
        this.up = up;
        this.down = down;
        this.compute = compute;
    }

    List<Projection> projections() {
        return List.of(q, k, v, o, gate, up, down);
    }

    List<Parameter> norms() {
        return List.of(inputNorm, postAttentionNorm);
    }

    /** The base weights in checkpoint order: input norm, projections (with their biases), post-attention norm. */
    List<Parameter> baseParameters() {
        List<Parameter> ps = new java.util.ArrayList<>();
        ps.add(inputNorm);
        for (Projection p : projections()) {
            ps.add(p.weight());
            if (p.bias() != null) {
                ps.add(p.bias());
            }
        }
        ps.add(postAttentionNorm);
        return ps;
    }

    /** @param mask additive (B, 1, T, S), or null for plain causal attention (see Compute.implicitCausalMask) */
    NDArray forward(NDArray x, NDArray cos, NDArray sin, NDArray mask, KvCache cache, boolean training) {
        NDArray h = x.add(attention(compute.rmsNorm(x, inputNorm.array(), cfg.rmsNormEps()), cos, sin, mask, cache, training));
        return h.add(mlp(compute.rmsNorm(h, postAttentionNorm.array(), cfg.rmsNormEps()), training));
    }

    private NDArray attention(NDArray x, NDArray cos, NDArray sin, NDArray mask, KvCache cache, boolean training) {
        long b = x.getShape().get(0);
        long t = x.getShape().get(1);
        int hd = cfg.headDim();
        NDArray qs = compute.rope(heads(q.apply(x, training), b, t, cfg.numHeads(), hd), cos, sin);   // (B, H, T, D)
        NDArray ks = compute.rope(heads(k.apply(x, training), b, t, cfg.numKvHeads(), hd), cos, sin); // (B, kvH, T, D)
        NDArray vs = heads(v.apply(x, training), b, t, cfg.numKvHeads(), hd);
        if (cache != null) {
            NDArray[] full = cache.append(index, ks, vs);                                             // (B, kvH, S, D)
            ks = full[0];
            vs = full[1];
        }
        NDArray out = compute.attention(qs, ks, vs, mask, 1.0 / Math.sqrt(hd), cfg.kvGroups());      // (B, H, T, D)
        return o.apply(out.transpose(0, 2, 1, 3).reshape(b, t, (long) cfg.numHeads() * hd), training);
    }

    private static NDArray heads(NDArray x, long b, long t, int heads, int hd) {
        return x.reshape(b, t, heads, hd).transpose(0, 2, 1, 3);
    }

    private NDArray mlp(NDArray x, boolean training) {
        NDArray g = gate.applyForElementwise(x, training);
        NDArray u = up.applyForElementwise(x, training);
        return down.apply(compute.siluMul(g, u), training);
    }
}
