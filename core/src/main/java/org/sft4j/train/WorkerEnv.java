package org.sft4j.train;

import java.util.Map;

/**
 * Where this process sits in a multi-process run, from torchrun's variables (RANK, LOCAL_RANK, WORLD_SIZE,
 * MASTER_ADDR, MASTER_PORT), so sft4j workers can be started by sft4j's own launcher or by any that sets them.
 */
public record WorkerEnv(int rank, int localRank, int world, String masterAddr, int masterPort) {

    /** This process's place, or null when it is not one worker of several. */
    public static WorkerEnv fromEnvironment() {
        return of(System.getenv());
    }

    static WorkerEnv of(Map<String, String> env) {
        String world = env.get("WORLD_SIZE");
        if (world == null || Integer.parseInt(world.trim()) <= 1) {
            return null;
        }
        int rank = Integer.parseInt(env.getOrDefault("RANK", "0").trim());
        return new WorkerEnv(rank, Integer.parseInt(env.getOrDefault("LOCAL_RANK", String.valueOf(rank)).trim()),
                Integer.parseInt(world.trim()), env.getOrDefault("MASTER_ADDR", "127.0.0.1"),
                Integer.parseInt(env.getOrDefault("MASTER_PORT", "29500").trim()));
    }

    /** Rank 0 logs, validates into the chart and saves checkpoints. */
    public boolean main() {
        return rank == 0;
    }
}
