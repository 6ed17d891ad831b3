package org.sft4j.nd;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

class ProfilerTest {

    @Test
    void recordsTorchsOperatorsAndWritesAChromeTrace(@TempDir Path dir) throws Exception {
        assumeTrue(Profiler.available(), "profiling needs the native extension");
        Path trace = dir.resolve("trace.json");
        try (NDManager m = Engines.newManager(Device.cpu())) {
            NDArray a = m.randomNormal(new ai.djl.ndarray.types.Shape(256, 256));
            Profiler.begin(false);
            for (int i = 0; i < 3; i++) {
                a.matMul(a).close();
            }
            String table = Profiler.end(trace, 10);
            assertTrue(table.startsWith("CPU time by operator (inclusive)"), table);
            assertTrue(table.lines().anyMatch(l -> l.contains("aten::mm") || l.contains("aten::matmul")), table);
            assertTrue(table.lines().anyMatch(l -> l.matches(".*ms .*%\\s+3\\s+aten::m.*")), "three calls counted: " + table);
        }
        assertTrue(Files.readString(trace).contains("traceEvents"), "a Chrome trace");
    }
}
