package org.sft4j.eval;

/** Progress of an evaluation: which model, how far the generation is, each model's scores as they come. */
public interface EvalListener {

    default void onModelStart(String name, int index, int models) {}

    default void onGenerated(String name, int done, int total) {}

    default void onScored(Scorecard card) {}

    /** Something the user should know before trusting the scores (e.g. prompts past the model's positions). */
    default void onWarning(String message) {}
}
