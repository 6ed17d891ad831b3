package org.sft4j.nd;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * sft4j's optional native extension ({@code native/}, C++ over libtorch): bf16 casts that keep autograd,
 * fused attention, fused AdamW, CUDA memory statistics and torch.distributed. It is loaded when
 * {@code SFT4J_NATIVE} names the library (or {@code native/build/libsft4j_native.so} exists in the
 * installation); without it every operation takes DJL's portable path.
 */
public final class NativeOps {

    private static final String LIB = "libsft4j_native.so";
    private static volatile Boolean available;

    private NativeOps() {}

    /** Whether the extension is loaded (loads it on first call, after DJL's libtorch). */
    public static synchronized boolean available() {
        if (available == null) {
            available = load();
        }
        return available;
    }

    private static boolean load() {
        Path lib = locate();
        if (lib == null) {
            return false;
        }
        Engines.pytorch();   // libtorch first: the extension links against the same libraries
        try {
            System.load(lib.toAbsolutePath().toString());
            return true;
        } catch (UnsatisfiedLinkError e) {
            System.err.println("sft4j: native extension " + lib + " did not load (" + e.getMessage() + "); using the portable path");
            return false;
        }
    }

    private static Path locate() {
        String env = System.getenv("SFT4J_NATIVE");
        if (env != null && !env.isBlank()) {
            Path p = Path.of(env);
            return Files.isDirectory(p) ? p.resolve(LIB) : p;
        }
        String root = System.getenv("SFT4J_ROOT");
        if (root != null) {
            Path p = Path.of(root, "native", "build", LIB);
            if (Files.exists(p)) {
                return p;
            }
        }
        return null;
    }
}
