package org.sft4j.train;

/**
 * What happens around each part of the model while a pass runs through it, one part at a time (see
 * {@link LossStep}): nothing for a model held whole, ZeRO's gathers, releases and gradient reductions for a sharded
 * one. Part 0 is the outer part (embedding, final norm, LM head), part {@code i + 1} decoder layer {@code i}.
 * <pre>
 *   training pass     beforeForward(0), then per layer beforeForward(i) .. afterForward(i), the head,
 *                     per layer from the last beforeBackward(i) .. afterBackward(i), beforeBackward(0) .. afterBackward(0)
 *   validation pass   beforeForward(0), per layer beforeForward(i) .. afterForward(i), the head, afterForward(0)
 * </pre>
 * Every rank of a sharded run makes the same calls in the same order, also for a micro-batch it has no rows of.
 */
interface LayerHooks {

    /** A model held whole: nothing to do around its parts. */
    LayerHooks NONE = new LayerHooks() { };

    /** The part's parameters are needed from here on (forward). */
    default void beforeForward(int part) {
    }

    /** The part's forward is done. */
    default void afterForward(int part) {
    }

    /** The part's parameters are needed again (its backward, or its forward recomputed). */
    default void beforeBackward(int part) {
    }

    /** The part's gradients of this micro-batch are complete. */
    default void afterBackward(int part) {
    }
}
