package org.sft4j.nd;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;

/**
 * The arrays of one step (a training micro-step, a validation batch, one generated token, a benchmark step): a
 * sub-manager of a long-lived manager (the model's) that new arrays are attached to, and an {@link NDScope} that
 * also frees the arrays DJL attaches elsewhere (gradient handles, results whose first operand is a weight). Closing
 * it frees everything the step made except what was {@link #keep kept}.
 *
 * <pre>{@code
 * try (StepScope step = StepScope.open(model.manager())) {
 *     NDArray hidden = model.forward(inputs, step.manager(), null, true);
 *     ...
 * }   // every array of the step is freed here
 * }</pre>
 *
 * <p>DJL's rules it encodes (notes/djl-engine-findings.md section 5.3): an operation's result belongs to its first
 * operand's manager, so activations go first and live in the step's manager; arrays that must outlive the step
 * (optimizer moments, caches, constants) are created outside it or kept.
 */
public final class StepScope implements AutoCloseable {

    private final NDManager parent;
    private final NDManager manager;
    private final NDScope scope;

    private StepScope(NDManager parent) {
        this.parent = parent;
        this.scope = new NDScope();
        this.manager = parent.newSubManager();
    }

    /** A new step under {@code parent}; the caller closes it (try-with-resources). */
    public static StepScope open(NDManager parent) {
        return new StepScope(parent);
    }

    /** Where the step's arrays go. */
    public NDManager manager() {
        return manager;
    }

    /** Keeps {@code a} alive after this step closes, owned by the manager the step was opened under. */
    public NDArray keep(NDArray a) {
        return Tensors.keep(a, parent);
    }

    @Override
    public void close() {
        manager.close();
        scope.close();
    }
}
