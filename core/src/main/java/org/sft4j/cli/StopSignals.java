package org.sft4j.cli;

import org.sft4j.train.Stoppable;

import java.util.concurrent.atomic.AtomicReference;

/**
 * Ctrl-C (SIGINT) and a scheduler's SIGTERM (sent before it kills a job): the first asks the running training to
 * save a checkpoint at the next step boundary and end; the process then exits with 128 + the signal's number (130,
 * 143), as shells expect of a process a signal ended. A second signal, or one before training started, exits at
 * once. A worker of a multi-GPU run always waits for its step boundary: its launcher forwards the user's signal,
 * which the worker may also have received directly from the terminal.
 */
final class StopSignals {

    private final AtomicReference<Stoppable> running;
    private final boolean worker;
    private volatile int received;

    private StopSignals(AtomicReference<Stoppable> running, boolean worker) {
        this.running = running;
        this.worker = worker;
    }

    /** Handles SIGINT and SIGTERM from now on; training registers itself in {@code running} when it starts. */
    static StopSignals install(AtomicReference<Stoppable> running, boolean worker) {
        StopSignals s = new StopSignals(running, worker);
        s.handle("INT", 2);
        s.handle("TERM", 15);
        return s;
    }

    @SuppressWarnings("removal")
    private void handle(String name, int number) {
        try {
            sun.misc.Signal.handle(new sun.misc.Signal(name), sig -> received(name, number));
        } catch (IllegalArgumentException e) {
            // no such signal here: the JVM's default handling stays
        }
    }

    private synchronized void received(String name, int number) {
        Stoppable t = running.get();
        if (t == null || (received != 0 && !worker)) {
            System.exit(128 + number);
        }
        if (received == 0) {
            received = number;
            System.err.println("\nSIG" + name + ": saving a checkpoint at the next step boundary, then stopping"
                    + (worker ? "" : " (Ctrl-C again to quit now)"));
            t.requestStop();
        }
    }

    /** The exit code of a run a signal stopped: 128 + its number; 1 when none was received. */
    int exitCode() {
        return received == 0 ? 1 : 128 + received;
    }
}
