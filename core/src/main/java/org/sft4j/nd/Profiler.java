package org.sft4j.nd;

import java.nio.file.Path;

/**
 * PyTorch's profiler around a stretch of sft4j's work (the native extension's bridge to torch.profiler's C++ core):
 * torch's operators on the calling thread and, on a GPU, every kernel and copy. Neither nsys nor Python's profiler can
 * see into a JVM's steps; this writes the same Chrome trace torch.profiler does (chrome://tracing, Perfetto) and sums
 * the time by kernel and by operator.
 *
 * <pre>
 *   Profiler.begin(true);
 *   ... steps ...
 *   System.out.println(Profiler.end(Path.of("trace.json"), 25));
 * </pre>
 */
public final class Profiler {

    private Profiler() {}

    /** Whether profiling is possible here (it needs the native extension). */
    public static boolean available() {
        return NativeOps.available();
    }

    /** Starts recording; {@code gpu}: also the GPU's kernels and copies. */
    public static void begin(boolean gpu) {
        requireExtension();
        start(gpu);
    }

    /**
     * Stops recording, writes the Chrome trace to {@code trace} (null: none) and returns the {@code top} kernels that
     * took the most GPU time (when recorded) and the operators that took the most CPU time, each with its share.
     */
    public static String end(Path trace, int top) {
        requireExtension();
        return stop(trace == null ? "" : trace.toAbsolutePath().toString(), top);
    }

    private static void requireExtension() {
        if (!NativeOps.available()) {
            throw new IllegalStateException("profiling needs sft4j's native extension (native/build.sh)");
        }
    }

    private static native void start(boolean gpu);

    private static native String stop(String trace, int top);
}
