package org.sft4j.nd;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;

import java.util.HashMap;
import java.util.Map;

/**
 * Scalar constants as tensors that stay alive as long as their owner.
 *
 * <p>Why: DJL's {@code NDArray.mul(Number)} (and div, pow, ...) wraps the number with {@code from_blob}
 * over a Java buffer and closes it right after the op. On CPU autograd keeps a pointer to that memory
 * for the backward pass, which then reads freed memory (garbage gradients, see
 * notes/djl-engine-findings.md section 5.1). Differentiable code multiplies by these tensors instead.
 */
public final class Scalars implements AutoCloseable {

    private final NDManager manager;
    private final DataType dataType;
    private final Map<Double, NDArray> cache = new HashMap<>();

    /** Constants of {@code dataType} living in a sub-manager of {@code parent}. */
    public Scalars(NDManager parent, DataType dataType) {
        this.manager = parent.newSubManager();
        this.dataType = dataType;
    }

    /** The constant {@code value} as a 0-d tensor of this cache's type and device. */
    public synchronized NDArray of(double value) {
        return cache.computeIfAbsent(value, v -> {
            NDArray a = manager.create((float) v.doubleValue()).toType(dataType, false);
            a.attach(manager);
            // Not part of any caller's NDScope: the constant must outlive the step that first asked for it.
            ai.djl.ndarray.NDScope.unregister(a);
            return a;
        });
    }

    public DataType dataType() {
        return dataType;
    }

    @Override
    public synchronized void close() {
        cache.clear();
        manager.close();
    }
}
