package org.sft4j.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import org.sft4j.config.TrainArgs;
import org.sft4j.nd.Compute;

import java.util.List;
import java.util.Map;

/** The shards' optimizer on their device: two AdamWs, each one fused update over all its shards. */
final class DeviceShardUpdates implements ShardUpdates {

    private final AdamW[] adamWs;

    DeviceShardUpdates(List<ShardGroup> trained, TrainArgs args, Compute compute, NDManager manager, int rank) {
        this.adamWs = ShardUpdates.adamWs(trained, args, compute, manager, ShardUpdates.seed(args, rank, 0));
    }

    @Override
    public void step(double lr, double gradCoef) {
        for (AdamW a : adamWs) {
            a.step(lr, gradCoef);
        }
    }

    @Override
    public Map<String, NDArray> moments() {
        return ShardUpdates.moments(List.of(adamWs));
    }

    @Override
    public int stepCount() {
        return adamWs[0].stepCount();
    }

    @Override
    public void setStepCount(int step) {
        for (AdamW a : adamWs) {
            a.setStepCount(step);
        }
    }

    @Override
    public void close() {
        for (AdamW a : adamWs) {
            a.close();
        }
    }
}
