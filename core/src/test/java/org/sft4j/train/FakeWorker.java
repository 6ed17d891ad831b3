package org.sft4j.train;

import java.nio.file.Path;

/**
 * Stands in for {@code sft4j train} in launcher tests: rank 0 reports a two-step run through {@link WorkerEvents},
 * the others print a line; with {@code -Dfake.fail=RANK} that rank fails after printing, and the others wait to be
 * stopped.
 */
public final class FakeWorker {

    public static void main(String[] args) throws Exception {
        int rank = Integer.parseInt(System.getenv("RANK"));
        String config = args[1];   // train CONFIG.yaml
        int fail = Integer.getInteger("fake.fail", -1);
        System.out.println("rank " + rank + " of " + System.getenv("WORLD_SIZE") + " local " + System.getenv("LOCAL_RANK")
                + " master " + System.getenv("MASTER_ADDR") + ":" + System.getenv("MASTER_PORT") + " config " + config
                + " threads " + System.getenv("OMP_NUM_THREADS") + " args " + String.join(" ", args));
        if (rank == fail) {
            System.out.println("CUDA error: out of memory (pretend)");
            System.exit(3);
        }
        if (fail >= 0) {
            Thread.sleep(60_000);   // a healthy rank blocked in a collective: the launcher must stop it
            return;
        }
        if (rank == 0) {
            WorkerEvents events = WorkerEvents.toStandardOutput();
            events.onStart(0, 2);
            events.onStep(new StepLog(1, 2, 0.5, 2.5, 1e-3, 0.75, 1234.5, 64, 1.5, 900));
            events.onValidation(1, Double.NaN);
            events.onCheckpoint(2, Path.of("/tmp/run/checkpoint-2"));
            events.onEnd(new TrainResult(TrainResult.Status.COMPLETED, 2, 1.25, 1.5, Double.NaN, 3.0, java.util.List.of(),
                    "finished at step 2"));
        }
    }
}
