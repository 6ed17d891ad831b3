package org.sft4j.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import org.sft4j.base.UserError;
import org.sft4j.model.Parameter;
import org.sft4j.nd.Bf16Update;
import org.sft4j.nd.DataTypes;
import org.sft4j.nd.ProcessGroup;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.OptionalLong;
import java.util.function.Supplier;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

/**
 * The host memory an offloaded optimizer (DeepSpeed's {@code offload_optimizer: cpu}) takes on this node, checked
 * before any is taken: running out of it ends the run by the kernel's OOM killer, which says nothing. Each rank holds
 * its shard of the trained parameters' master values, their gradients and AdamW's two moments: 16 bytes a parameter
 * trained in fp32, 8 under bf16-true (10 with Kahan buffers); every rank of the node takes its share.
 */
final class OffloadMemory {

    private OffloadMemory() {}

    /** Bytes of host memory one rank of {@code world} holds for {@code trained}'s optimizer shards. */
    static long bytesPerRank(List<Parameter> trained, Bf16Update bf16, int world) {
        long bytes = 0;
        for (Parameter p : trained) {
            boolean bf16Master = DataTypes.of(p.array()) == DataType.BFLOAT16;
            long each = bf16Master ? (bf16 == Bf16Update.KAHAN ? 10 : 8) : 16;
            bytes += each * p.array().size();
        }
        return (bytes + world - 1) / world;
    }

    /**
     * How many ranks of the run share this node's memory: torchrun's (and sft4j's launcher's) LOCAL_WORLD_SIZE, else
     * SLURM_NTASKS_PER_NODE, else the ranks spread evenly over {@code nnodes}.
     */
    static int ranksOnThisNode(Map<String, String> env, int world, int nnodes) {
        for (String key : new String[] {"LOCAL_WORLD_SIZE", "SLURM_NTASKS_PER_NODE"}) {
            String v = env.get(key);
            if (v != null && v.trim().matches("[1-9][0-9]*")) {
                return Math.min(world, Integer.parseInt(v.trim()));
            }
        }
        return (world + Math.max(1, nnodes) - 1) / Math.max(1, nnodes);
    }

    /** MemAvailable of a /proc/meminfo text, in bytes. */
    static OptionalLong available(String meminfo) {
        for (String line : meminfo.split("\n")) {
            String[] f = line.trim().split("\\s+");
            if (f.length >= 2 && f[0].equals("MemAvailable:") && f[1].matches("[0-9]+")) {
                return OptionalLong.of(Long.parseLong(f[1]) * (f.length > 2 && f[2].equalsIgnoreCase("kB") ? 1024 : 1));
            }
        }
        return OptionalLong.empty();
    }

    /** This machine's MemAvailable (Linux), or empty where it cannot be read. */
    static OptionalLong available() {
        try {
            return available(Files.readString(Path.of("/proc/meminfo")));
        } catch (IOException | RuntimeException e) {
            return OptionalLong.empty();
        }
    }

    /**
     * {@link #check} on every rank of {@code group} together: all read their node's available memory ({@code available})
     * between two synchronisations, before any rank takes its share (a rank that had would be counted twice by a slower
     * one), and all refuse if one does (a rank left to go on alone would wait for the others in its first collective).
     * {@code manager} holds the one small tensor the ranks agree through.
     */
    static void checkAllRanks(ProcessGroup group, NDManager manager, Supplier<OptionalLong> available, long perRank,
                              int ranks, long trainedParameters, String source) {
        group.barrier();
        OptionalLong free = available.get();
        UserError mine = null;
        try {
            if (free.isPresent()) {
                check(perRank, ranks, free.getAsLong(), trainedParameters, source);
            }
        } catch (UserError e) {
            mine = e;
        }
        float[] refused = new float[group.world()];
        refused[group.rank()] = mine == null ? 0 : 1;
        float[] all;
        try (NDManager scope = manager.newSubManager()) {
            NDArray flags = scope.create(refused);
            group.allReduceSum(List.of(flags));
            all = flags.toFloatArray();
        }
        if (mine != null) {
            throw mine;
        }
        String lacking = IntStream.range(0, all.length).filter(r -> all[r] > 0).mapToObj(String::valueOf)
                .collect(Collectors.joining(", "));
        if (!lacking.isEmpty()) {
            throw new UserError(String.format(Locale.ROOT, "%s: offload_optimizer: rank %s found too little host memory "
                    + "on its node (its own message says how much and what to change); every rank stops", source, lacking));
        }
    }

    /**
     * Refuses, in the user's words, an offloaded run whose node lacks the host memory for it: {@code perRank} bytes on
     * each of {@code ranks} ranks against {@code available}. {@code source} names where the offload was asked for.
     */
    static void check(long perRank, int ranks, long available, long trainedParameters, String source) {
        long needed = perRank * ranks;
        if (needed <= available) {
            return;
        }
        throw new UserError(String.format(Locale.ROOT, "%s: offload_optimizer needs about %.1f GB of host memory on "
                        + "this node (%d rank%s x %.1f GB: master weights, their gradients and AdamW's two moments of "
                        + "the %s trained parameters offloaded, in shards) and %.1f GB is available; train fewer "
                        + "parameters (finetuning_type: lora), use precision: bf16-true (half the bytes), run on more "
                        + "nodes, offload less of the optimizer (offload_optimizer.ratio, the share offloaded; the rest "
                        + "stays on the GPU) or none of it (no offload_optimizer)",
                source, needed / 1e9, ranks, ranks == 1 ? "" : "s", perRank / 1e9, count(trainedParameters),
                available / 1e9));
    }

    private static String count(long n) {
        return n >= 1e9 ? String.format(Locale.ROOT, "%.1f B", n / 1e9)
                : n >= 1e6 ? String.format(Locale.ROOT, "%.1f M", n / 1e6) : String.valueOf(n);
    }
}
