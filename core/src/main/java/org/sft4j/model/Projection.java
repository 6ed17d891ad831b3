package org.sft4j.model;

import ai.djl.ndarray.NDArray;
import org.sft4j.model.lora.LoraAdapter;
import org.sft4j.nd.Compute;
import org.sft4j.nd.StepScope;

/** A linear layer {@code y = x W^T + b} (W [out, in] as in HF), with an optional LoRA adapter beside it. */
public final class Projection {

    private final String name;
    private final Parameter weight;
    private final Parameter bias;
    private final Compute compute;
    private LoraAdapter lora;

    Projection(String name, Parameter weight, Parameter bias, Compute compute) {
        this.name = name;
        this.weight = weight;
        this.bias = bias;
        this.compute = compute;
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

    /** The same weights, bias and adapter, computed with {@code other}. */
    Projection computingWith(Compute other) {
        Projection p = new Projection(name, weight, bias, other);
        p.lora = lora;
        return p;
    }

    NDArray apply(NDArray x, boolean training) {
        return apply(x, training, compute::linear);
    }

    /** As {@link #apply}, the result in the product type (see {@link Compute#linearInProductType}). */
    NDArray applyInProductType(NDArray x, boolean training) {
        return apply(x, training, compute::linearInProductType);
    }

    /**
     * As {@link #applyInProductType} for a recompute in backward that reads nothing of the result: the base product's
     * graph without its values ({@link Compute#linearGraphOnly}); a LoRA adapter's product is computed as usual.
     */
    NDArray applyGraphOnly(NDArray x, boolean training) {
        return apply(x, training, compute::linearGraphOnly);
    }

    /** A base product {@code x W^T + b} of {@link Compute}'s. */
    private interface Product {
        NDArray of(NDArray x, NDArray w, NDArray b);
    }

    private NDArray apply(NDArray x, boolean training, Product product) {
        // x first: results attach to the manager of the first operand, which is the step's scope
        if (lora == null) {
            return product.of(x, weight.array(), biasArray());
        }
        // the base product, the adapter's and its scaled copy are freed once summed (autograd keeps none of them)
        return StepScope.freeIntermediates(() -> {
            NDArray in = compute.productInput(x);   // one 16-bit copy of x for both products (autograd keeps one)
            return product.of(in, weight.array(), biasArray()).add(lora.apply(in, training, compute));
        });
    }

    private NDArray biasArray() {
        return bias == null ? null : bias.array();
    }
}
