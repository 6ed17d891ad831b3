package org.sft4j.model;

import ai.djl.ndarray.NDArray;
import ai.djl.nn.Activation;
import org.sft4j.nd.NativeOps;
import org.sft4j.nd.Scalars;
import org.sft4j.nd.Tensors;

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
    private final Scalars scalars;

    DecoderLayer(ModelConfig cfg, int index, Parameter inputNorm, Parameter postAttentionNorm, Projection q,
                 Projection k, Projection v, Projection o, Projection gate, Projection up, Projection down,
                 Scalars scalars) {
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
        this.scalars = scalars;
    }

    List<Projection> projections() {
        return List.of(q, k, v, o, gate, up, down);
    }

    List<Parameter> norms() {
        return List.of(inputNorm, postAttentionNorm);
    }

    /** @param mask additive (B, 1, T, S), or null for plain causal attention (fused attention only) */
    NDArray forward(NDArray x, NDArray cos, NDArray sin, NDArray mask, KvCache cache, boolean training, Compute compute) {
        NDArray h = x.add(attention(rmsNorm(x, inputNorm, compute), cos, sin, mask, cache, training, compute));
        return h.add(mlp(rmsNorm(h, postAttentionNorm, compute), training, compute));
    }

    private NDArray attention(NDArray x, NDArray cos, NDArray sin, NDArray mask, KvCache cache, boolean training,
                              Compute compute) {
        long b = x.getShape().get(0);
        long t = x.getShape().get(1);
        int hd = cfg.headDim();
        NDArray qs = heads(q.apply(x, training, compute), b, t, cfg.numHeads(), hd);   // (B, H, T, D)
        NDArray ks = heads(k.apply(x, training, compute), b, t, cfg.numKvHeads(), hd); // (B, kvH, T, D)
        NDArray vs = heads(v.apply(x, training, compute), b, t, cfg.numKvHeads(), hd);
        if (compute.fused()) {
            qs = NativeOps.rope(qs, cos, sin);
            ks = NativeOps.rope(ks, cos, sin);
        } else {
            qs = Rope.apply(qs, cos, sin);
            ks = Rope.apply(ks, cos, sin);
        }
        if (cache != null) {
            NDArray[] full = cache.append(index, ks, vs);                    // (B, kvH, S, D)
            ks = full[0];
            vs = full[1];
        }
        if (compute.fused()) {
            NDArray out = fused(qs, ks, vs, mask, compute);
            return o.apply(out.transpose(0, 2, 1, 3).reshape(b, t, (long) cfg.numHeads() * hd), training, compute);
        }
        if (cfg.kvGroups() > 1) {
            ks = ks.repeat(1, cfg.kvGroups());                                 // repeat_interleave: (B, H, S, D)
            vs = vs.repeat(1, cfg.kvGroups());
        }
        NDArray scores = qs.matMul(ks.transpose(0, 1, 3, 2)).mul(scalars.of(1.0 / Math.sqrt(hd))).add(mask);
        NDArray probs = Tensors.softmaxFp32(scores, -1);                       // (B, H, T, S)
        if (probs.getDataType() != vs.getDataType()) {
            probs = probs.toType(vs.getDataType(), false);
        }
        NDArray out = probs.matMul(vs).transpose(0, 2, 1, 3).reshape(b, t, (long) cfg.numHeads() * hd);
        return o.apply(out, training, compute);
    }

    /**
     * PyTorch's fused attention (B, H, T, D): fp32, on bf16/fp16 copies returning fp32 (mixed), or all bf16 (pure).
     */
    private NDArray fused(NDArray qs, NDArray ks, NDArray vs, NDArray mask, Compute compute) {
        double scale = 1.0 / Math.sqrt(cfg.headDim());
        boolean gqa = cfg.kvGroups() > 1;
        if (!compute.halfProducts()) {
            return NativeOps.attention(qs, ks, vs, mask, mask == null, scale, gqa);
        }
        // inputs and mask cast to the 16-bit type in the same call (no-ops under pure bf16, which stays bf16)
        return NativeOps.attention(qs, ks, vs, mask, mask == null, scale, gqa, compute.halfType(),
                compute.pureBf16() ? NativeOps.KEEP : NativeOps.FLOAT32);
    }

    private static NDArray heads(NDArray x, long b, long t, int heads, int hd) {
        return x.reshape(b, t, heads, hd).transpose(0, 2, 1, 3);
    }

    private NDArray mlp(NDArray x, boolean training, Compute compute) {
        if (compute.fused()) {
            // native: SwiGLU in one op, on 16-bit activations when the products are 16-bit
            NDArray g = gate.applyInComputeType(x, training, compute);
            NDArray u = up.applyInComputeType(x, training, compute);
            return down.apply(NativeOps.siluMul(g, u), training, compute);
        }
        NDArray g = gate.apply(x, training, compute);
        NDArray silu = g.mul(Activation.sigmoid(g));
        return down.apply(silu.mul(up.apply(x, training, compute)), training, compute);
    }

    NDArray rmsNorm(NDArray x, Parameter weight, Compute compute) {
        if (compute.fused()) {
            return NativeOps.rmsNorm(x, weight.array(), cfg.rmsNormEps());
        }
        NDArray variance = x.square().mean(new int[] {-1}, true);
        NDArray normed = x.div(variance.add(scalars.of(cfg.rmsNormEps())).sqrt());
        return normed.mul(weight.array());
    }
}
