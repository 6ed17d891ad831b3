package org.sft4j.model.lora;

import ai.djl.ndarray.NDArray;
import ai.djl.nn.core.Linear;
import org.sft4j.model.Parameter;

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

    /** The adapter's contribution for input x [..., in]. */
    public NDArray apply(NDArray x, boolean training) {
        NDArray in = training && dropout > 0 ? ai.djl.nn.norm.Dropout.dropout(x, (float) dropout, true).head() : x;
        NDArray down = Linear.linear(in, a.array()).head();
        return Linear.linear(down, b.array()).head().mul(scale);
    }

    /** {@code scale * B @ A} [out, in]: what merging adds to the base weight. */
    public NDArray delta() {
        return b.array().matMul(a.array()).mul(scale);
    }
}
