package org.sft4j.train;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import org.sft4j.batch.Batch;
import org.sft4j.batch.Batcher;
import org.sft4j.config.TrainArgs;
import org.sft4j.data.TokenizedSet;
import org.sft4j.model.Compute;
import org.sft4j.model.Decoder;
import org.sft4j.model.Parameter;
import org.sft4j.nd.Engines;
import org.sft4j.nd.Tensors;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The training loop. One {@link #fit()} call reads top to bottom like nanoGPT's: learning rate, the
 * micro-batches of one optimizer step (loss per supervised token of the whole accumulated batch, as
 * torchtune normalises it), clipping, the update, logging, validation and checkpoints.
 *
 * <ul>
 *   <li>Memory: each step runs inside an {@link NDScope}; every array it creates is freed at its end.</li>
 *   <li>Determinism: batches come from (seed, epoch); dropout is reseeded from (seed, step). A run resumed
 *       from step k repeats steps k+1.. exactly.</li>
 *   <li>Stopping: {@link #requestStop()} (kernel interrupt, Ctrl-C) ends the run at the next step boundary
 *       with a checkpoint; a non-finite loss stops it before the bad update, keeping the last good checkpoint.</li>
 * </ul>
 */
public final class Trainer implements Stoppable {

    private final TrainArgs args;
    private final Decoder model;
    private final List<Parameter> params;
    private final AdamW optimizer;
    private final Checkpointer checkpointer;
    private final DataCursor data;
    private final TokenizedSet val;
    private final LossStep lossStep;
    private final LrSchedule schedule;
    private final List<TrainListener> listeners;
    private final int totalSteps;
    private final long seed;
    private final String finetuningType;
    private final DataParallel dp;
    private LossScaler scaler;   // fp16 only
    private volatile boolean stopRequested;
    private int step;
    private double bestVal = Double.NaN;

    /**
     * @param resumeFrom a checkpoint to continue from (weights already loaded into {@code model}), or null
     */
    public Trainer(TrainArgs args, Decoder model, TokenizedSet train, TokenizedSet val, Integer maxNumTokens, boolean packing,
                   Path modelSource, String baseModel, Path resumeFrom, List<TrainListener> listeners) throws IOException {
        this.args = args;
        this.model = model;
        Compute compute = Compute.forTraining(args.bf16(), args.pureBf16(), args.fp16());
        if (compute == null) {
            // a LLaMA-Factory YAML often says bf16: true; on a machine without the extension it still trains
            System.err.println("sft4j: " + (args.pureBf16() ? "pure_bf16" : args.fp16() ? "fp16" : "bf16")
                    + " needs the native extension (native/build.sh), which is not loaded; training in fp32");
            compute = Compute.auto();
        }
        model.setCompute(compute);
        this.params = model.trainableParameters();
        WorkerEnv worker = WorkerEnv.fromEnvironment();
        this.dp = worker == null ? null : DataParallel.join(worker, model, params);
        int world = worker == null ? 1 : worker.world();
        this.seed = args.seed();
        this.finetuningType = model.loraConfig() != null ? "lora" : "full";
        this.optimizer = new AdamW(params, args.adamBeta1(), args.adamBeta2(), args.adamEpsilon(), args.weightDecay(),
                args.decayNormsAndBiases(), model.manager());
        this.checkpointer = new Checkpointer(Path.of(args.outputDir()), model, optimizer, args.keepLastNCheckpoints(),
                modelSource, baseModel);
        // one global batch is world x the per-device batch (a token budget per batch grows the same way; a packed
        // row's length does not); each rank takes its share of the rows
        Batcher batcher = new Batcher(train, args.perDeviceTrainBatchSize() * world,
                maxNumTokens == null || packing ? maxNumTokens : Integer.valueOf(maxNumTokens * world), packing, seed, true);
        this.val = val == null || val.size() == 0 ? null : val;
        int epoch = 0;
        int index = 0;
        TrainState s = resumeFrom == null ? null : Checkpointer.readState(resumeFrom);
        if (s != null) {
            if (!s.finetuningType().equals(finetuningType)) {
                throw new IOException(resumeFrom + " was written by a " + s.finetuningType() + " run; this run is " + finetuningType);
            }
            Checkpointer.restoreOptimizer(resumeFrom, optimizer, s.adamStep());
            step = s.step();
            epoch = s.epoch();
            index = s.batchInEpoch();
            bestVal = s.bestValLoss();
        }
        this.scaler = compute.needsLossScaling() ? LossScaler.resumedFrom(s) : null;
        this.data = new DataCursor(batcher, epoch, index);
        int stepsPerEpoch = Math.max(1, (int) Math.ceil((double) data.batchesPerEpoch() / args.gradientAccumulationSteps()));
        this.totalSteps = args.maxSteps() > 0 ? args.maxSteps() : (int) Math.ceil(args.numTrainEpochs() * stepsPerEpoch);
        this.schedule = new LrSchedule(args.lrSchedulerType(), args.learningRate(),
                LrSchedule.warmupSteps(args.warmupSteps(), args.warmupRatio(), totalSteps), totalSteps);
        this.lossStep = new LossStep(model, args.lossChunkRows());
        this.listeners = List.copyOf(listeners);
    }

    public int totalSteps() {
        return totalSteps;
    }

    /** Ends the run at the next step boundary, saving a checkpoint first (safe from any thread). */
    @Override
    public void requestStop() {
        stopRequested = true;
    }

    public TrainResult fit() throws IOException {
        java.nio.file.Files.createDirectories(Path.of(args.outputDir()));
        try {
            if (!main()) {
                return fit(List.of());   // rank 0 logs, validates into the listeners and saves
            }
            try (MetricsLog metrics = new MetricsLog(Path.of(args.outputDir()).resolve("metrics.jsonl"), step)) {
                List<TrainListener> all = new ArrayList<>(listeners);
                all.add(0, metrics);
                return fit(all);
            }
        } finally {
            if (dp != null) {
                dp.close();
            }
        }
    }

    private boolean main() {
        return dp == null || dp.env().main();
    }

    private TrainResult fit(List<TrainListener> listeners) throws IOException {
        long t0 = System.nanoTime();
        listeners.forEach(l -> l.onStart(step, totalSteps));
        double firstVal = Double.NaN;
        double lastVal = Double.NaN;
        if (step == 0 && val != null && args.validateEveryNSteps() > 0) {
            firstVal = lastVal = validate(listeners);
        }
        int lastSaved = -1;
        TrainResult.Status status = TrainResult.Status.COMPLETED;
        String message = null;
        boolean stopAgreed = false;   // data parallel: every rank stops at the same step
        while (step < totalSteps) {
            if (dp == null ? stopRequested : stopAgreed) {
                status = TrainResult.Status.INTERRUPTED;
                break;
            }
            double lr = schedule.lrAt(step);
            Engines.pytorch().setRandomSeed((int) (seed * 31 + step));            // dropout masks depend on the step only
            List<Batch> micro = new ArrayList<>();
            long supervised = 0;
            int tokens = 0;
            for (int k = 0; k < args.gradientAccumulationSteps(); k++) {
                List<int[]> rows = data.nextRows();
                if (dp == null) {
                    Batch b = data.materialize(rows);
                    micro.add(b);
                    supervised += b.supervised();
                    tokens += b.tokens();
                } else {
                    // the global batch's counts normalise the loss on every rank; only this rank's rows are padded
                    supervised += data.supervised(rows);
                    tokens += data.tokens(rows);
                    List<int[]> mine = dp.shard(rows);
                    micro.add(mine.isEmpty() ? null : data.materialize(mine));
                }
            }
            long stepStart = System.nanoTime();
            double lossScale = scaler == null ? 1 : scaler.scale();
            double lossSum = 0;
            for (int k = 0; k < micro.size(); k++) {
                Batch b = micro.get(k);
                if (b == null) {
                    continue;
                }
                // data parallel: the last micro-batch's backward completes the gradients, reduced while it runs
                Runnable arm = dp != null && k == micro.size() - 1 ? dp::arm : null;
                try (NDScope scope = new NDScope(); NDManager sm = model.manager().newSubManager()) {
                    ai.djl.ndarray.NDArray part = lossStep.forwardBackwardLazy(b, lossScale / Math.max(1, supervised), sm, arm);
                    if (part != null) {
                        lossSum += Tensors.scalar(part);
                    }
                }
            }
            if (dp != null) {
                dp.finishGradients();
                double[] agreed = dp.sum(lossSum, stopRequested ? 1 : 0);
                lossSum = agreed[0];
                stopAgreed = agreed[1] > 0;
            }
            double loss = lossSum / Math.max(1, supervised);
            double gradNorm = GradientClipping.clip(params, args.maxGradNorm(), lossScale);
            boolean overflow = scaler != null && Double.isFinite(loss) && !scaler.update(Double.isFinite(gradNorm));
            String stop = null;
            if (overflow && scaler.scale() < LossScaler.MIN_SCALE) {
                stop = "fp16 gradients overflowed at step " + (step + 1) + " even with the loss scale at " + lossScale
                        + "; stopped. Last good checkpoint: " + lastCheckpointName()
                        + ". Try bf16: true (GPUs since Ampere), or a lower learning_rate.";
            } else if (!overflow && (!Double.isFinite(loss) || !Double.isFinite(gradNorm))) {
                stop = "the loss became non-finite at step " + (step + 1) + " (loss " + loss + ", grad norm " + gradNorm
                        + "); stopped before applying it. Last good checkpoint: " + lastCheckpointName()
                        + ". Try a lower learning_rate or max_grad_norm.";
            }
            if (stop != null) {
                zeroGrads();
                status = TrainResult.Status.NON_FINITE;
                message = stop;
                break;
            }
            if (overflow) {
                // fp16: the scaled gradients left fp16's range; the batch is spent and the update skipped, as
                // GradScaler does (a run's first steps often do this while the scale settles)
                if (main()) {
                    System.err.printf("sft4j: fp16 gradients overflowed at step %d; update skipped, loss scale %.0f -> %.0f%n",
                            step + 1, lossScale, scaler.scale());
                }
            } else {
                optimizer.step(lr);
            }
            zeroGrads();
            step++;
            double secs = (System.nanoTime() - stepStart) / 1e9;
            StepLog log = new StepLog(step, totalSteps, data.progress(), loss, lr, gradNorm, tokens / secs, supervised,
                    (System.nanoTime() - t0) / 1e9, Memory.residentMb());
            if (step % args.loggingSteps() == 0 || step == totalSteps || step == 1) {
                listeners.forEach(l -> l.onStep(log));
            }
            if (val != null && args.validateEveryNSteps() > 0
                    && (step % args.validateEveryNSteps() == 0 || step == totalSteps)) {
                lastVal = validate(listeners);
            }
            if (step % args.saveSteps() == 0) {
                save(listeners);
                lastSaved = step;
            }
        }
        if (step > 0 && lastSaved != step && status != TrainResult.Status.NON_FINITE) {
            save(listeners);
        }
        if (message == null) {
            message = (status == TrainResult.Status.INTERRUPTED ? "interrupted at step " : "finished at step ") + step
                    + "; model: " + lastCheckpointName();
        }
        TrainResult result = new TrainResult(status, step, bestVal, lastVal, firstVal, (System.nanoTime() - t0) / 1e9,
                Checkpointer.list(Path.of(args.outputDir())), message);
        listeners.forEach(l -> l.onEnd(result));
        return result;
    }

    private double validate(List<TrainListener> listeners) {
        // data parallel: each rank scores its share of the batches and the sums are added up
        double[] sums = Validation.sums(model, val, args.perDeviceEvalBatchSize(), args.lossChunkRows(),
                dp == null ? 0 : dp.env().rank(), dp == null ? 1 : dp.env().world());
        double v = Validation.mean(dp == null ? sums : dp.sum(sums));
        if (Double.isNaN(bestVal) || v < bestVal) {
            bestVal = v;
        }
        int at = step;
        listeners.forEach(l -> l.onValidation(at, v));
        return v;
    }

    private void save(List<TrainListener> listeners) throws IOException {
        if (!main()) {
            return;
        }
        TrainState s = new TrainState(TrainState.FORMAT_VERSION, step, data.epoch(), data.index(), optimizer.stepCount(),
                bestVal, seed, finetuningType, org.sft4j.base.Version.VERSION, scaler == null ? null : scaler.scale(),
                scaler == null ? null : scaler.cleanSteps());
        Path dir = checkpointer.save(s);
        int at = step;
        listeners.forEach(l -> l.onCheckpoint(at, dir));
    }

    private void zeroGrads() {
        for (Parameter p : params) {
            Tensors.zeroGrad(p.array());
        }
    }

    private String lastCheckpointName() throws IOException {
        List<Path> all = Checkpointer.list(Path.of(args.outputDir()));
        return all.isEmpty() ? "none" : all.get(all.size() - 1).toString();
    }

    /**
     * Scales the loss whatever the precision (tests: on an fp32 path scaling changes nothing, except that a large
     * enough scale overflows, which exercises fp16's skip-and-halve without a GPU).
     */
    void scaleLoss(LossScaler lossScaler) {
        this.scaler = lossScaler;
    }

    /** The optimizer (for tests and the native path). */
    AdamW optimizer() {
        return optimizer;
    }
}
