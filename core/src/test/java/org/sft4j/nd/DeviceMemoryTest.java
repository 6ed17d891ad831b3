package org.sft4j.nd;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The CPU's twin of CUDA's allocator statistics (native extension only; skipped in CI): libtorch's CPU tensors are
 * counted byte for byte from {@link DeviceMemory#count} on, with a peak that can be reset.
 */
class DeviceMemoryTest {

    @Test
    void cpuTensorsAreCountedAsTheyAreAllocatedAndFreed() {
        assumeTrue(NativeOps.available(), "needs the native extension");
        Device cpu = Device.cpu();
        assertTrue(DeviceMemory.count(cpu), "libtorch's CPU allocator can be counted");
        assertTrue(DeviceMemory.measurable(cpu));
        try (NDManager manager = NDManager.newBaseManager(cpu)) {
            long before = DeviceMemory.stats(cpu)[0];
            DeviceMemory.resetPeak(cpu);
            NDArray a = manager.zeros(new Shape(1024, 1024), DataType.FLOAT32);     // 4 MiB
            NDArray b = manager.zeros(new Shape(256, 1024), DataType.FLOAT32);      // 1 MiB
            long[] held = DeviceMemory.stats(cpu);
            assertEquals(before + 5 * 1024 * 1024, held[0], "allocated: the two tensors' bytes");
            assertEquals(held[0], held[1], "the peak so far is what is held");
            a.close();
            long[] afterA = DeviceMemory.stats(cpu);
            assertEquals(before + 1024 * 1024, afterA[0], "freed: a's bytes are gone");
            assertEquals(held[1], afterA[1], "the peak remembers a");
            DeviceMemory.resetPeak(cpu);
            assertEquals(afterA[0], DeviceMemory.stats(cpu)[1], "a reset peak starts from what is held");
            b.close();
            assertEquals(before, DeviceMemory.stats(cpu)[0]);
        }
    }
}
