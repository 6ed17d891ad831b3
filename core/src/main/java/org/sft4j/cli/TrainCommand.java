package org.sft4j.cli;

import org.sft4j.Sft;
import org.sft4j.train.StepLog;
import org.sft4j.train.TrainListener;
import org.sft4j.train.TrainResult;
import org.sft4j.train.Stoppable;
import org.sft4j.train.WorkerEnv;
import org.sft4j.train.WorkerEvents;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicReference;

@Command(name = "train", description = "Fine-tune as CONFIG says. Ctrl-C saves a checkpoint at the next step; a second Ctrl-C quits.")
final class TrainCommand implements Callable<Integer> {

    @Mixin
    ConfigOptions options;

    @Override
    public Integer call() throws Exception {
        AtomicReference<Stoppable> running = new AtomicReference<>();
        installInterrupt(running);
        TrainListener console = new TrainListener() {
            @Override
            public void onStep(StepLog s) {
                System.out.printf("step %d/%d  epoch %.2f  loss %.4f  lr %.3g  grad_norm %.3f  %.0f tok/s%n", s.step(),
                        s.totalSteps(), s.epoch(), s.loss(), s.lr(), s.gradNorm(), s.tokensPerSecond());
            }

            @Override
            public void onValidation(int step, double valLoss) {
                System.out.printf("step %d  val_loss %.4f%n", step, valLoss);
            }

            @Override
            public void onCheckpoint(int step, Path dir) {
                System.out.println("saved " + dir);
            }
        };
        WorkerEnv worker = WorkerEnv.fromEnvironment();
        // a worker of a multi-GPU run: rank 0 reports to the launcher in event lines, the others stay quiet
        List<TrainListener> listeners = worker == null ? List.of(console)
                : worker.main() ? List.of(WorkerEvents.toStandardOutput()) : List.of();
        TrainResult r = Sft.train(options.load(), listeners, running::set);
        if (worker == null) {
            System.out.println(r.message());
        }
        return r.status() == TrainResult.Status.NON_FINITE ? 2 : 0;
    }

    /** First SIGINT: stop at the next step boundary with a checkpoint. Second: exit now. */
    @SuppressWarnings("removal")
    private static void installInterrupt(AtomicReference<Stoppable> running) {
        try {
            sun.misc.Signal.handle(new sun.misc.Signal("INT"), new sun.misc.SignalHandler() {
                private boolean once;

                @Override
                public void handle(sun.misc.Signal sig) {
                    Stoppable t = running.get();
                    if (t == null || once) {
                        System.exit(130);
                    }
                    once = true;
                    System.err.println("\ninterrupt: saving a checkpoint at the next step boundary (Ctrl-C again to quit now)");
                    t.requestStop();
                }
            });
        } catch (IllegalArgumentException e) {
            // no signal support: Ctrl-C ends the JVM as usual
        }
    }
}
