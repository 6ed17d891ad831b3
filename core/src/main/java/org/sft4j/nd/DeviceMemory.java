package org.sft4j.nd;

import ai.djl.Device;

/**
 * Allocator statistics of a device, where they can be read (the native extension): CUDA's caching allocator on a
 * GPU; on the CPU, libtorch's tensor memory counted from {@link #count} on, so a benchmark's peak (what autograd keeps,
 * what the forward still holds, backward's transients) is measured on a machine without a GPU too.
 */
public final class DeviceMemory {

    private static volatile boolean hostCounted;

    private DeviceMemory() {}

    /**
     * Starts counting {@code device}'s memory where it is not counted anyway (the CPU's tensors); call it before the
     * model is made, so its weights count as a GPU's do. Returns whether {@link #stats} can measure the device.
     */
    public static boolean count(Device device) {
        if (!device.isGpu() && NativeOps.available() && !hostCounted) {
            hostCounted = NativeOps.countHostTensorMemory();
        }
        return measurable(device);
    }

    /** Whether {@link #stats} can measure {@code device}. */
    public static boolean measurable(Device device) {
        return NativeOps.available() && (device.isGpu() || hostCounted);
    }

    /** Allocated, peak allocated, reserved, peak reserved, in bytes (the CPU reserves what it allocates). */
    public static long[] stats(Device device) {
        if (device.isGpu()) {
            return NativeOps.cudaMemory(device);
        }
        long[] host = NativeOps.hostTensorBytes();
        return new long[] {host[0], host[1], host[0], host[1]};
    }

    /** Starts a new peak (as {@code torch.cuda.reset_peak_memory_stats}). */
    public static void resetPeak(Device device) {
        if (device.isGpu()) {
            NativeOps.resetPeakMemory(device);
        } else {
            NativeOps.resetHostTensorPeakBytes();
        }
    }
}
