package org.sft4j.model.lora;

import ai.djl.ndarray.NDArray;
import org.sft4j.model.Parameter;
import org.sft4j.nd.Compute;

/**
 * The low-rank update of one projection: {@code scale * B(A(dropout(x)))}, with A [r, in] and B [out, r]
 * as PEFT stores them.
 */
public final class LoraAdapter {

    private final Parameter a;
    private final Parameter b;
    private final NDArray scale;
    private final double dropout;

    public LoraAdapter(Parameter a, Parameter b, NDArray scale, double dropout) {
        this.a = a;
        this.b = b;
        this.scale = scale;
        this.dropout = dropout;
    }

    public Parameter a() {
        return a;
    }

    public Parameter b() {
        return b;
    }

    public NDArray scale() {
        return scale;
    }

    /**
     * The adapter's contribution for input x [..., in], in x's type: A and B (fp32) are cast per product, so with no
     * dropout the only activation kept for backward is x itself, which the base product keeps anyway. Dropout keeps
     * its mask and the dropped input, as PEFT's does.
     */
    public NDArray apply(NDArray x, boolean training, Compute compute) {
        NDArray in = training && dropout > 0 ? ai.djl.nn.norm.Dropout.dropout(x, (float) dropout, true).head() : x;
        NDArray down = compute.adapterLinear(in, a.array());
        return compute.adapterLinear(down, b.array()).mul(scale);
    }

    /** {@code scale * B @ A} [out, in]: what merging adds to the base weight. */
    public NDArray delta() {
        return b.array().matMul(a.array()).mul(scale);
    }
}
