package org.sft4j.model;

import ai.djl.ndarray.NDArray;

/**
 * A named weight of the model. The name is the Hugging Face checkpoint key, so loading, saving and
 * optimizer state all refer to weights the way {@code state_dict()} does.
 */
public final class Parameter {

    private final String name;
    private NDArray array;
    private boolean trainable;

    public Parameter(String name, NDArray array, boolean trainable) {
        this.name = name;
        this.array = array;
        setTrainable(trainable);
    }

    public String name() {
        return name;
    }

    public NDArray array() {
        return array;
    }

    public boolean trainable() {
        return trainable;
    }

    /** Turns gradient tracking on or off (frozen base weights under LoRA). */
    public void setTrainable(boolean trainable) {
        this.trainable = trainable;
        array.setRequiresGradient(trainable);
    }

    /** Replaces the values (merge, load); the new array takes over this parameter's gradient setting. */
    public void replace(NDArray next) {
        NDArray old = array;
        array = next;
        array.setRequiresGradient(trainable);
        if (old != next) {
            old.close();
        }
    }
}
