package org.sft4j.model;

import ai.djl.ndarray.NDArray;
import ai.djl.nn.core.Linear;
import org.sft4j.model.lora.LoraAdapter;
import org.sft4j.nd.NativeOps;

/** A linear layer {@code y = x W^T + b} (W [out, in] as in HF), with an optional LoRA adapter beside it. */
public final class Projection {

    private final String name;
    private final Parameter weight;
    private final Parameter bias;
    private LoraAdapter lora;

    Projection(String name, Parameter weight, Parameter bias) {
        this.name = name;
        this.weight = weight;
        this.bias = bias;
    }

    /** The module name, e.g. {@code model.layers.0.self_attn.q_proj}. */
    public String name() {
        return name;
    }

    /** The last part of the name, e.g. {@code q_proj}. */
    public String kind() {
        return name.substring(name.lastIndexOf('.') + 1);
    }

    public Parameter weight() {
        return weight;
    }

    public Parameter bias() {
        return bias;
    }

    public LoraAdapter lora() {
        return lora;
    }

    void setLora(LoraAdapter lora) {
        this.lora = lora;
    }

    NDArray apply(NDArray x, boolean training, Compute compute) {
        // x first: results attach to the manager of the first operand, which is the step's scope
        if (compute.pureBf16()) {
            return withLora(plain(x), x, training, compute);
        }
        return withLora(compute.halfProducts() ? halfProduct(x, compute, NativeOps.FLOAT32) : plain(x), x, training, compute);
    }

    /** As {@link #apply}, but with 16-bit products the result stays 16-bit (for an elementwise op that feeds another projection). */
    NDArray applyInComputeType(NDArray x, boolean training, Compute compute) {
        if (!compute.halfProducts() || compute.pureBf16()) {
            return apply(x, training, compute);
        }
        return withLora(halfProduct(x, compute, NativeOps.KEEP), x, training, compute);
    }

    private NDArray plain(NDArray x) {
        return Linear.linear(x, weight.array(), bias == null ? null : bias.array()).head();
    }

    /** y + the adapter's output; under pure bf16 the sum is taken in fp32 and cast back, as PEFT does. */
    private NDArray withLora(NDArray y, NDArray x, boolean training, Compute compute) {
        if (lora == null) {
            return y;
        }
        NDArray sum = y.add(lora.apply(loraInput(x, compute), training));
        return compute.pureBf16() ? NativeOps.cast(sum, NativeOps.BFLOAT16) : sum;
    }

    /** The adapter computes in fp32: with 16-bit products its input may arrive as bf16 or fp16. */
    private static NDArray loraInput(NDArray x, Compute compute) {
        return compute.halfProducts() ? NativeOps.cast(x, NativeOps.FLOAT32) : x;
    }

    /**
     * x W^T + b on 16-bit copies (autograd reaches the fp32 tensors through the casts), the result in {@code outType}
     * ({@link NativeOps#FLOAT32}, or {@link NativeOps#KEEP} for the 16-bit type).
     */
    private NDArray halfProduct(NDArray x, Compute compute, int outType) {
        return NativeOps.linear(x, weight.array(), bias == null ? null : bias.array(), compute.halfType(), outType);
    }
}
