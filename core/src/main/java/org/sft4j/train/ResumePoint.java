package org.sft4j.train;

import org.sft4j.base.UserError;
import org.sft4j.nd.Precision;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Where a run starts: a fresh start, or the checkpoint it continues from. Read once during setup and used wherever
 * resuming matters: the weights (or adapter) loaded, the data position, the optimizer's moments and step, fp16's
 * loss scale, the best validation loss, the lines kept in metrics.jsonl and the first line a resumed run prints.
 */
public final class ResumePoint {

    private static final ResumePoint NONE = new ResumePoint(null,
            new TrainState(TrainState.FORMAT_VERSION, 0, 0, 0, 0, Double.NaN, 0, "", "", null, null));

    private final Path checkpoint;
    private final TrainState state;

    private ResumePoint(Path checkpoint, TrainState state) {
        this.checkpoint = checkpoint;
        this.state = state;
    }

    /** A fresh start. */
    public static ResumePoint none() {
        return NONE;
    }

    /** Continues from {@code checkpoint} (a complete {@code checkpoint-N} folder). */
    public static ResumePoint of(Path checkpoint) throws IOException {
        return new ResumePoint(checkpoint, Checkpointer.readState(checkpoint));
    }

    /** What {@code resume_from_checkpoint} says: a checkpoint folder, {@code auto}/{@code true} for the latest in output_dir. */
    public static ResumePoint resolve(String setting, Path outputDir) throws IOException {
        Path p = Checkpointer.resolveResume(setting, outputDir);
        return p == null ? none() : of(p);
    }

    /** Whether the run continues from a checkpoint. */
    public boolean resumes() {
        return checkpoint != null;
    }

    /** The checkpoint folder, when {@link #resumes()}. */
    public Optional<Path> checkpoint() {
        return Optional.ofNullable(checkpoint);
    }

    /** Optimizer steps already done (0 for a fresh start). */
    public int step() {
        return state.step();
    }

    TrainState state() {
        return state;
    }

    /** A checkpoint of a full fine-tune cannot continue as LoRA, nor the other way round. */
    void checkFinetuningType(String type) {
        if (resumes() && !state.finetuningType().equals(type)) {
            throw new UserError(checkpoint + " was written by a " + state.finetuningType() + " run; this run is " + type
                    + " (finetuning_type)");
        }
    }

    /** Loads the checkpoint's AdamW moments and step into {@code update}; nothing for a fresh start. */
    void restore(ParameterUpdate update) throws IOException {
        if (resumes()) {
            update.restore(checkpoint, state.adamStep());
        }
    }

    /** The loss scaling of the run: fp16's, carried on from the checkpoint when it has one; none otherwise. */
    LossScaling lossScaling(Precision precision) {
        return precision.needsLossScaling() ? LossScaler.resumedFrom(resumes() ? state : null) : LossScaling.NONE;
    }

    /** The line a resumed run prints first. */
    public String describe() {
        return resumes() ? "resuming from " + checkpoint + " (step " + state.step() + ")" : "starting a new run";
    }

    @Override
    public String toString() {
        return describe();
    }
}
