package org.sft4j.train;

import org.sft4j.base.UserError;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Where this process sits in a multi-process run: from torchrun's variables (RANK, LOCAL_RANK, WORLD_SIZE,
 * MASTER_ADDR, MASTER_PORT), which sft4j's own launcher sets too, or from SLURM's for a task that {@code srun} started
 * (one task per GPU): SLURM_PROCID, SLURM_NTASKS, SLURM_LOCALID, the first host of SLURM_JOB_NODELIST as master
 * address and MASTER_PORT, else 15000 plus the job id's last four digits (Lightning's rule, so that two jobs on a
 * node differ), as its port.
 *
 * @param launcherPid the sft4j launcher that started this worker, or -1 (started by torchrun, srun, a script)
 */
public record WorkerEnv(int rank, int localRank, int world, String masterAddr, int masterPort, long launcherPid) {

    /** Set by sft4j's launcher in its workers' environment. */
    static final String LAUNCHER_PID = "SFT4J_LAUNCHER_PID";

    public WorkerEnv(int rank, int localRank, int world, String masterAddr, int masterPort) {
        this(rank, localRank, world, masterAddr, masterPort, -1);
    }

    /** This process's place, or null when it is not one worker of several. */
    public static WorkerEnv fromEnvironment() {
        return of(System.getenv());
    }

    static WorkerEnv of(Map<String, String> env) {
        String world = env.get("WORLD_SIZE");
        if (world != null) {
            if (Integer.parseInt(world.trim()) <= 1) {
                return null;
            }
            int rank = Integer.parseInt(env.getOrDefault("RANK", "0").trim());
            return new WorkerEnv(rank, Integer.parseInt(env.getOrDefault("LOCAL_RANK", String.valueOf(rank)).trim()),
                    Integer.parseInt(world.trim()), env.getOrDefault("MASTER_ADDR", "127.0.0.1"),
                    Integer.parseInt(env.getOrDefault("MASTER_PORT", "29500").trim()),
                    Long.parseLong(env.getOrDefault(LAUNCHER_PID, "-1").trim()));
        }
        return slurm(env);
    }

    /**
     * A task of an {@code srun} job step with several tasks (a batch script itself, outside any step, is not one of
     * them even when its job has several tasks).
     */
    private static WorkerEnv slurm(Map<String, String> env) {
        String tasks = env.get("SLURM_NTASKS");
        boolean inStep = env.containsKey("SLURM_STEP_ID") || env.containsKey("SLURM_STEPID");
        if (tasks == null || !inStep || Integer.parseInt(tasks.trim()) <= 1) {
            return null;
        }
        String nodes = env.getOrDefault("SLURM_JOB_NODELIST", env.get("SLURM_NODELIST"));
        if (nodes == null) {
            throw new UserError("SLURM: SLURM_NTASKS is " + tasks + " but SLURM_JOB_NODELIST is not set");
        }
        String port = env.get("MASTER_PORT");
        if (port == null) {
            String job = env.getOrDefault("SLURM_JOB_ID", "");
            port = String.valueOf(job.length() >= 1 ? 15000 + Integer.parseInt(job.substring(Math.max(0, job.length() - 4)))
                    : 29500);
        }
        return new WorkerEnv(Integer.parseInt(env.get("SLURM_PROCID").trim()),
                Integer.parseInt(env.getOrDefault("SLURM_LOCALID", "0").trim()), Integer.parseInt(tasks.trim()),
                env.getOrDefault("MASTER_ADDR", hosts(nodes).get(0)), Integer.parseInt(port.trim()), -1);
    }

    private static final Pattern RANGE = Pattern.compile("\\[([^\\]]*)\\]");

    /**
     * SLURM's compressed host list expanded, in order: {@code gpu[01-03,07],cpu5} is gpu01, gpu02, gpu03, gpu07, cpu5;
     * ranges keep their zero padding and several bracket groups in one name multiply out.
     */
    static List<String> hosts(String list) {
        List<String> out = new ArrayList<>();
        for (String name : splitTopLevel(list)) {
            expand(name.trim(), out);
        }
        return out;
    }

    private static List<String> splitTopLevel(String list) {
        List<String> parts = new ArrayList<>();
        int depth = 0;
        int start = 0;
        for (int i = 0; i < list.length(); i++) {
            char c = list.charAt(i);
            depth += c == '[' ? 1 : c == ']' ? -1 : 0;
            if (c == ',' && depth == 0) {
                parts.add(list.substring(start, i));
                start = i + 1;
            }
        }
        parts.add(list.substring(start));
        return parts;
    }

    private static void expand(String name, List<String> out) {
        Matcher m = RANGE.matcher(name);
        if (!m.find()) {
            if (!name.isEmpty()) {
                out.add(name);
            }
            return;
        }
        String head = name.substring(0, m.start());
        String tail = name.substring(m.end());
        for (String piece : m.group(1).split(",")) {
            String[] ends = piece.split("-");
            if (ends.length == 1) {
                expand(head + ends[0] + tail, out);
                continue;
            }
            int width = ends[0].length();
            for (long v = Long.parseLong(ends[0]); v <= Long.parseLong(ends[1]); v++) {
                expand(head + String.format("%0" + width + "d", v) + tail, out);
            }
        }
    }

    /** Rank 0 logs, validates into the chart and saves checkpoints. */
    public boolean main() {
        return rank == 0;
    }

    /** Whether sft4j's launcher started this worker (rank 0 then reports in event lines for it to replay). */
    public boolean launched() {
        return launcherPid > 0;
    }
}
