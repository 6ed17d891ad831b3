package org.sft4j.nd;

import ai.djl.Device;

/** CUDA allocator statistics of a GPU, where they can be read (a GPU and the native extension). */
public final class DeviceMemory {

    private DeviceMemory() {}

    /** Whether {@link #stats} can measure {@code device}. */
    public static boolean measurable(Device device) {
        return device.isGpu() && NativeOps.available();
    }

    /** Allocated, peak allocated, reserved, peak reserved, in bytes. */
    public static long[] stats(Device device) {
        return NativeOps.cudaMemory(device);
    }

    /** Starts a new peak (as {@code torch.cuda.reset_peak_memory_stats}). */
    public static void resetPeak(Device device) {
        NativeOps.resetPeakMemory(device);
    }
}
