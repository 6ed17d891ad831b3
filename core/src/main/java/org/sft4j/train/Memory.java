package org.sft4j.train;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Memory figures for the metrics: resident set size of this process (Linux /proc), in MiB. */
public final class Memory {

    private Memory() {}

    public static double residentMb() {
        return kb("VmRSS:") / 1024.0;
    }

    /** Peak resident set size (VmHWM), in MiB. */
    public static double peakResidentMb() {
        return kb("VmHWM:") / 1024.0;
    }

    private static long kb(String key) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith(key)) {
                    return Long.parseLong(line.replaceAll("[^0-9]", ""));
                }
            }
        } catch (IOException | RuntimeException e) {
            return -1;
        }
        return -1;
    }
}
