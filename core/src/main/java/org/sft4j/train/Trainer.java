package org.sft4j.train;

import ai.djl.ndarray.NDArray;
import org.sft4j.config.TrainArgs;
import org.sft4j.data.TokenizedSet;
import org.sft4j.model.Decoder;
import org.sft4j.nd.Engines;
import org.sft4j.nd.StepScope;
import org.sft4j.nd.Tensors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The training loop. {@link #fit()} reads top to bottom like nanoGPT's: learning rate, the micro-batches of one
 * optimizer step (loss per supervised token of the whole accumulated batch, as torchtune normalises it), clipping,
 * the update, zeroing, then logging, validation and checkpoints. Everything it uses is built beforehand by
 * {@link TrainSetup}; where a feature is off (one process, no loss scaling) its object does nothing.
 *
 * <ul>
 *   <li>Memory: each micro-step runs in a {@link StepScope}; every array it creates is freed at its end. The
 *       trainer owns its optimizer (the AdamW moments), process group and metrics file, and {@link #close()} frees
 *       them; the model belongs to the caller.</li>
 *   <li>Determinism: batches come from (seed, epoch); dropout is reseeded from (seed, step). A run resumed
 *       from step k repeats steps k+1.. exactly.</li>
 *   <li>Stopping: {@link #requestStop()} (kernel interrupt, Ctrl-C, SIGTERM) ends the run at the next step boundary
 *       with a checkpoint; a non-finite loss stops it before the bad update, keeping the last good checkpoint.</li>
 * </ul>
 */
public final class Trainer implements Stoppable, AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(Trainer.class);
    private static final Runnable NOTHING = () -> { };

    private final TrainArgs args;
    private final Decoder model;
    private final ParameterUpdate update;
    private final LossScaling scaling;
    private final Replicas replicas;
    private final DataCursor data;
    private final TokenizedSet val;
    private final LrSchedule schedule;
    private final int totalSteps;
    private final CheckpointWriter checkpoints;
    private final LossStep lossStep;
    private final List<TrainListener> listeners;
    private final List<AutoCloseable> owned;
    private final AtomicBoolean stop;
    private int step;
    private double bestVal;

    /** Made by {@link TrainSetup}, which builds each part; {@code owned} is what {@link #close()} frees. */
    Trainer(TrainArgs args, Decoder model, ParameterUpdate update, LossScaling scaling, Replicas replicas, DataCursor data,
            TokenizedSet val, LrSchedule schedule, int totalSteps, CheckpointWriter checkpoints, ResumePoint resume,
            AtomicBoolean stop, List<TrainListener> listeners, List<AutoCloseable> owned) {
        this.args = args;
        this.model = model;
        this.update = update;
        this.scaling = scaling;
        this.replicas = replicas;
        this.data = data;
        this.val = val;
        this.schedule = schedule;
        this.totalSteps = totalSteps;
        this.checkpoints = checkpoints;
        this.lossStep = new LossStep(model, args.lossChunkRows(), args.checkpointedLayers(model.numLayers()), replicas.hooks());
        this.stop = stop;
        this.listeners = List.copyOf(listeners);
        this.owned = List.copyOf(owned);
        this.step = resume.step();
        this.bestVal = resume.state().bestValLoss();
    }

    public int totalSteps() {
        return totalSteps;
    }

    /** Ends the run at the next step boundary, saving a checkpoint first (safe from any thread). */
    @Override
    public void requestStop() {
        stop.set(true);
    }

    public TrainResult fit() throws IOException {
        try {
            return loop();
        } catch (RuntimeException e) {
            replicas.failed(e);   // the other ranks stop instead of waiting for this one, or it waits to learn who failed
            throw e;
        } catch (IOException | Error e) {
            replicas.failed(new java.io.UncheckedIOException(new IOException(e.getMessage(), e)));
            throw e;
        }
    }

    private TrainResult loop() throws IOException {
        long t0 = System.nanoTime();
        listeners.forEach(l -> l.onStart(step, totalSteps));
        double firstVal = step == 0 && validating() ? validate() : Double.NaN;
        double lastVal = firstVal;
        int lastSaved = -1;
        while (step < totalSteps && !replicas.stopAgreed()) {
            double lr = schedule.lrAt(step);
            long seed = args.seed() * 31 + step;
            Engines.pytorch().setRandomSeed((int) seed);   // dropout masks depend on the step only
            DataCursor.StepBatch batch = data.next(args.gradientAccumulationSteps(), replicas);
            long stepStart = System.nanoTime();
            double lossScale = scaling.scale();
            double lossSum = forwardBackward(batch, lossScale, seed);
            replicas.finishGradients();
            double loss = replicas.sumLoss(lossSum) / Math.max(1, batch.supervised());
            double gradNorm = update.clipGradients(args.maxGradNorm(), lossScale);
            boolean overflow = Double.isFinite(loss) && !scaling.update(Double.isFinite(gradNorm));   // fp16 only
            Optional<String> problem = problem(loss, gradNorm, overflow, lossScale);
            if (problem.isPresent()) {
                zeroGradients();
                return end(TrainResult.Status.NON_FINITE, problem.get(), firstVal, lastVal, t0);
            }
            if (overflow) {
                skipped(lossScale);
            } else {
                update.step(lr);
            }
            zeroGradients();
            step++;
            StepLog log = new StepLog(step, totalSteps, data.progress(), loss, lr, gradNorm,
                    batch.tokens() / ((System.nanoTime() - stepStart) / 1e9), batch.supervised(),
                    (System.nanoTime() - t0) / 1e9, Memory.residentMb());
            if (step % args.loggingSteps() == 0 || step == totalSteps || step == 1) {
                listeners.forEach(l -> l.onStep(log));
            }
            if (validating() && (step % args.validateEveryNSteps() == 0 || step == totalSteps)) {
                lastVal = validate();
            }
            if (args.saves() && step % args.saveSteps() == 0) {
                save();
                lastSaved = step;
            }
        }
        if (args.saves() && step > 0 && lastSaved != step) {
            save();
        }
        TrainResult.Status status = step < totalSteps ? TrainResult.Status.INTERRUPTED : TrainResult.Status.COMPLETED;
        return end(status, (status == TrainResult.Status.INTERRUPTED ? "interrupted at step " : "finished at step ")
                + step + "; model: " + lastCheckpointName(), firstVal, lastVal, t0);
    }

    /**
     * Forward and backward of the step's micro-batches; returns their summed loss. Each micro-batch's sum stays on the
     * device until all are queued: read one by one, each read would make the host wait for the device before it could
     * queue the next micro-batch.
     */
    private double forwardBackward(DataCursor.StepBatch batch, double lossScale, long seed) {
        try (StepScope losses = StepScope.open(model.manager())) {
            List<NDArray> sums = new ArrayList<>();
            for (int k = 0; k < batch.micro().size(); k++) {
                // data parallel: the backward that completes the step's gradients reduces them while it runs
                Runnable beforeLast = k == batch.micro().size() - 1 ? replicas::beforeFinalBackward : NOTHING;
                try (StepScope scope = StepScope.open(losses.manager())) {
                    NDArray sum = lossStep.forwardBackwardLazy(batch.micro().get(k),
                            lossScale / Math.max(1, batch.supervised()), scope, beforeLast, seed * 1024 + k);
                    if (sum != null) {
                        sums.add(scope.keep(sum));
                    }
                }
            }
            double total = 0;
            for (NDArray sum : sums) {
                total += Tensors.scalar(sum);
            }
            return total;
        }
    }

    /** Why the step must not be applied, if it must not: gradients that overflow whatever fp16's scale, or NaN/inf. */
    private Optional<String> problem(double loss, double gradNorm, boolean overflow, double lossScale) throws IOException {
        if (overflow && scaling.scale() < LossScaler.MIN_SCALE) {
            return Optional.of("fp16 gradients overflowed at step " + (step + 1) + " even with the loss scale at "
                    + lossScale + "; stopped. Last good checkpoint: " + lastCheckpointName()
                    + ". Try precision: bf16-mixed (GPUs since Ampere), or a lower learning_rate.");
        }
        if (!overflow && (!Double.isFinite(loss) || !Double.isFinite(gradNorm))) {
            return Optional.of("the loss became non-finite at step " + (step + 1) + " (loss " + loss + ", grad norm "
                    + gradNorm + "); stopped before applying it. Last good checkpoint: " + lastCheckpointName()
                    + ". Try a lower learning_rate or max_grad_norm.");
        }
        return Optional.empty();
    }

    /**
     * fp16: the scaled gradients left fp16's range; the batch is spent and the update skipped, as GradScaler does (a
     * run's first steps often do this while the scale settles).
     */
    private void skipped(double lossScale) {
        if (replicas.main()) {
            LOG.warn("fp16 gradients overflowed at step {}; update skipped, loss scale {} -> {}", step + 1,
                    String.format("%.0f", lossScale), String.format("%.0f", scaling.scale()));
        }
    }

    private boolean validating() {
        return args.validateEveryNSteps() > 0 && val.size() > 0;
    }

    private double validate() {
        // data parallel: each rank scores its share of the batches and the sums are added up
        double v = Validation.mean(Validation.sums(model, val, args.perDeviceEvalBatchSize(), lossStep, replicas));
        if (Double.isNaN(bestVal) || v < bestVal) {
            bestVal = v;
        }
        int at = step;
        listeners.forEach(l -> l.onValidation(at, v));
        return v;
    }

    /** Every rank calls it: a sharded run's ranks write the checkpoint together; rank 0 tells the listeners. */
    private void save() throws IOException {
        TrainState s = new TrainState(TrainState.FORMAT_VERSION, step, data.epoch(), data.index(), update.stepCount(),
                bestVal, args.seed(), model.loraConfig() != null ? "lora" : "full", org.sft4j.base.Version.VERSION,
                scaling.checkpointedScale(), scaling.checkpointedCleanSteps());
        Path dir = checkpoints.save(s);
        int at = step;
        if (dir != null) {
            listeners.forEach(l -> l.onCheckpoint(at, dir));
        }
    }

    private TrainResult end(TrainResult.Status status, String message, double firstVal, double lastVal, long t0)
            throws IOException {
        TrainResult result = new TrainResult(status, step, bestVal, lastVal, firstVal, (System.nanoTime() - t0) / 1e9,
                Checkpointer.list(outputDir()), message);
        listeners.forEach(l -> l.onEnd(result));
        return result;
    }

    private void zeroGradients() {
        update.zeroGradients();
    }

    private Path outputDir() {
        return Path.of(args.outputDir());
    }

    private String lastCheckpointName() throws IOException {
        List<Path> all = Checkpointer.list(outputDir());
        return all.isEmpty() ? "none" : all.get(all.size() - 1).toString();
    }

    /** Frees what the run owns: the optimizer's moments, the process group, the metrics file. */
    @Override
    public void close() throws IOException {
        Closing.all(owned);
    }

    /** The optimizer side of the step (for tests). */
    ParameterUpdate update() {
        return update;
    }
}
