package org.sft4j.train;

import org.sft4j.model.Parameter;
import org.sft4j.nd.Compute;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/** AdamW over the model's own parameters: one process, or data parallel replicas whose gradients are already summed. */
final class ReplicatedUpdate implements ParameterUpdate {

    private final AdamW optimizer;
    private final Compute compute;
    private final List<Parameter> params;
    private final boolean alone;

    /** @param alone one process: gradients are freed after each update (data parallel reduces views of their memory) */
    ReplicatedUpdate(AdamW optimizer, Compute compute, List<Parameter> params, boolean alone) {
        this.alone = alone;
        this.optimizer = optimizer;
        this.compute = compute;
        this.params = List.copyOf(params);
    }

    AdamW optimizer() {
        return optimizer;
    }

    @Override
    public double clipGradients(double maxNorm, double lossScale) {
        return GradientClipping.clip(compute, params, maxNorm, lossScale);
    }

    @Override
    public void step(double lr) {
        optimizer.step(lr);
    }

    @Override
    public void zeroGradients() {
        List<ai.djl.ndarray.NDArray> arrays = params.stream().map(Parameter::array).toList();
        if (alone) {
            compute.releaseGradients(arrays);   // as transformers' zero_grad(set_to_none=True): none held through forward
        } else {
            compute.zeroGradients(arrays);
        }
    }

    @Override
    public int stepCount() {
        return optimizer.stepCount();
    }

    @Override
    public void restore(Path checkpoint, int adamStep) throws IOException {
        Checkpointer.restoreOptimizer(checkpoint, optimizer, adamStep);
    }

    @Override
    public void close() {
        optimizer.close();
    }
}
