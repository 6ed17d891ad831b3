package org.sft4j.magics;

import java.util.Set;
import java.util.concurrent.CopyOnWriteArraySet;

/**
 * What a kernel interrupt should stop besides Java code: long magics (training, generation) register a
 * handler while they run, and the kernel fires them all. Training stops at the next step boundary with a
 * checkpoint.
 */
public final class Interrupts {

    private static final Set<Runnable> HANDLERS = new CopyOnWriteArraySet<>();

    private Interrupts() {}

    /** Registers {@code handler} until the returned handle is closed. */
    public static AutoCloseable onInterrupt(Runnable handler) {
        HANDLERS.add(handler);
        return () -> HANDLERS.remove(handler);
    }

    public static void fire() {
        HANDLERS.forEach(Runnable::run);
    }
}
