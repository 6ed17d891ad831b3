package org.sft4j.train;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Where a worker sits when SLURM's srun started it: SLURM's variables, its compressed node list, the port. */
class ClusterEnvTest {

    @Test
    void anSrunTaskIsOneRankOfTheJob() {
        WorkerEnv w = WorkerEnv.of(Map.of("SLURM_PROCID", "5", "SLURM_LOCALID", "1", "SLURM_NTASKS", "8",
                "SLURM_STEP_ID", "0", "SLURM_JOB_NODELIST", "gpu[03-04,07],login2", "SLURM_JOB_ID", "4242017"));
        // rank 5 of 8, GPU 1 of its node; the master is the first node, the port 15000 + the job id's last 4 digits
        assertEquals(new WorkerEnv(5, 1, 8, "gpu03", 17017, -1), w);
        assertTrue(!w.launched(), "srun's task prints as one process does");
        WorkerEnv port = WorkerEnv.of(Map.of("SLURM_PROCID", "0", "SLURM_NTASKS", "2", "SLURM_STEPID", "1",
                "SLURM_NODELIST", "node7", "MASTER_PORT", "29555"));
        assertEquals(new WorkerEnv(0, 0, 2, "node7", 29555, -1), port);
    }

    @Test
    void aBatchScriptOrASingleTaskIsNoRankAndTorchrunsVariablesWin() {
        assertNull(WorkerEnv.of(Map.of("SLURM_PROCID", "0", "SLURM_NTASKS", "8", "SLURM_JOB_NODELIST", "gpu[01-02]")),
                "the batch script itself, outside any job step");
        assertNull(WorkerEnv.of(Map.of("SLURM_PROCID", "0", "SLURM_NTASKS", "1", "SLURM_STEP_ID", "0",
                "SLURM_JOB_NODELIST", "gpu01")));
        WorkerEnv torchrun = WorkerEnv.of(Map.of("WORLD_SIZE", "4", "RANK", "2", "LOCAL_RANK", "2", "MASTER_ADDR", "h",
                "MASTER_PORT", "1234", "SLURM_PROCID", "0", "SLURM_NTASKS", "1", "SLURM_STEP_ID", "0"));
        assertEquals(new WorkerEnv(2, 2, 4, "h", 1234, -1), torchrun, "torchrun started inside a SLURM step");
        assertTrue(WorkerEnv.of(Map.of("WORLD_SIZE", "2", "RANK", "1", WorkerEnv.LAUNCHER_PID, "77")).launched());
    }

    @Test
    void slurmsHostListsExpandAsScontrolShowHostnames() {
        assertEquals(List.of("node01", "node02", "node03", "node04"), WorkerEnv.hosts("node[01-04]"));
        assertEquals(List.of("a1", "a3", "a4", "b", "c9", "c10"), WorkerEnv.hosts("a[1,3-4],b,c[9-10]"));
        assertEquals(List.of("r1-n01", "r1-n02", "r2-n01", "r2-n02"), WorkerEnv.hosts("r[1-2]-n[01-02]"));
        assertEquals(List.of("host"), WorkerEnv.hosts("host"));
    }
}
