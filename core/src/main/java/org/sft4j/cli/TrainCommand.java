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

@Command(name = "train", description = "Fine-tune as CONFIG says. Ctrl-C or SIGTERM saves a checkpoint at the next step "
        + "and exits with 130 or 143; a second Ctrl-C quits at once.")
final class TrainCommand implements Callable<Integer> {

    @Mixin
    ConfigOptions options;

    @Override
    public Integer call() throws Exception {
        AtomicReference<Stoppable> running = new AtomicReference<>();
        WorkerEnv worker = WorkerEnv.fromEnvironment();
        StopSignals signals = StopSignals.install(running, worker != null);
        TrainListener console = new TrainListener() {
            @Override
            public void onResume(Path checkpoint, int step) {
                System.out.println("resuming from " + checkpoint + " (step " + step + ")");
            }

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
        // a worker of sft4j's launcher: rank 0 reports to it in event lines, the others stay quiet; started by srun or
        // torchrun, rank 0 prints as a single process does
        boolean prints = worker == null || (worker.main() && !worker.launched());
        List<TrainListener> listeners = prints ? List.of(console)
                : worker.main() ? List.of(WorkerEvents.toStandardOutput()) : List.of();
        TrainResult r = Sft.train(options.load(), listeners, running::set);
        if (prints) {
            System.out.println(r.message());
        }
        return switch (r.status()) {
            case COMPLETED -> 0;
            case NON_FINITE -> 2;
            case INTERRUPTED -> signals.exitCode();
        };
    }
}
