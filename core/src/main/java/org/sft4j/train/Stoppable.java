package org.sft4j.train;

/** A run that can be asked to end at its next step boundary, saving a checkpoint (kernel interrupt, Ctrl-C). */
public interface Stoppable {
    void requestStop();
}
