package org.sft4j.nd;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;

import java.util.function.Supplier;

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
    private final boolean ownsManager;
    private final NDScope scope;

    private StepScope(NDManager parent, NDManager manager, boolean ownsManager) {
        this.parent = parent;
        this.scope = new NDScope();
        this.manager = manager;
        this.ownsManager = ownsManager;
    }

    /** A new step under {@code parent}; the caller closes it (try-with-resources). */
    public static StepScope open(NDManager parent) {
        return new StepScope(parent, parent.newSubManager(), true);
    }

    /**
     * A part of this step whose arrays are freed when the part ends, not when the step does (a forward pass whose
     * activations autograd keeps only as long as backward needs them; one chunk's logits). New arrays still go to
     * this step's manager; {@link #keep} hands one back to the step.
     */
    public StepScope part() {
        return new StepScope(manager, manager, false);
    }

    /**
     * Runs {@code body} and frees every array it made except its result, which goes on to the enclosing scope (a
     * decoder layer, an adapted projection). Why: DJL frees an array only when its scope closes, so without this every
     * intermediate of a forward pass stays allocated until the whole forward ends, beside what autograd keeps for
     * backward; those not kept by autograd are freed here as soon as the block that made them is done, as Python's
     * reference counting frees them in PyTorch.
     */
    public static NDArray freeIntermediates(Supplier<NDArray> body) {
        NDArray result;
        try (NDScope block = new NDScope()) {
            result = body.get();
            NDScope.unregister(result);
        }
        NDScope.register(result);
        return result;
    }

    /** Where the step's arrays go. */
    public NDManager manager() {
        return manager;
    }

    /** Keeps {@code a} alive after this step (or part) closes, owned by the manager it was opened under. */
    public NDArray keep(NDArray a) {
        return Tensors.keep(a, parent);
    }

    @Override
    public void close() {
        if (ownsManager) {
            manager.close();
        }
        scope.close();
    }
}
