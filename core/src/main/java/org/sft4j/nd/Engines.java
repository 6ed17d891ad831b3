package org.sft4j.nd;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import org.sft4j.base.UserError;

/**
 * Starts DJL's PyTorch engine the way sft4j needs it: offline, no telemetry, CPU tokenizer natives.
 *
 * <p>DJL reads these switches from system properties or the environment; setting the properties here
 * means a notebook kernel or a test needs no environment of its own.
 */
public final class Engines {

    private Engines() {}

    /** Returns the PyTorch engine, configured for offline use. */
    public static synchronized Engine pytorch() {
        setIfAbsent("ai.djl.offline", "true");
        setIfAbsent("offline", "true");
        setIfAbsent("OPT_OUT_TRACKING", "true");
        setIfAbsent("RUST_FLAVOR", "cpu");
        // DJL's tokenizers jar also registers a "Rust" engine; name PyTorch explicitly.
        return Engine.getEngine("PyTorch");
    }

    /** A new root manager on the given device, owned by the caller. */
    /** Seeds torch's generators (CPU and CUDA), as {@code torch.manual_seed} does. */
    public static void seedTorch(long seed) {
        ai.djl.pytorch.jni.JniUtils.setSeed(seed);
    }

    public static NDManager newManager(Device device) {
        return pytorch().newBaseManager(device);
    }

    /** The device named by {@code cpu}, {@code gpu}, {@code gpu:1} or {@code auto} (GPU 0 when there is one). */
    public static Device device(String name) {
        if (name == null || name.isBlank() || name.equals("auto")) {
            return pytorch().getGpuCount() > 0 ? Device.gpu() : Device.cpu();
        }
        if (name.startsWith("gpu")) {   // DJL's fromName takes no "gpu:N", and a GPU that is not there fails deep inside
            int index = name.equals("gpu") ? 0 : Integer.parseInt(name.substring(name.indexOf(':') + 1));
            int gpus = pytorch().getGpuCount();
            if (index >= gpus) {
                throw new UserError("device " + name + ": " + (gpus == 0 ? "no GPU is visible here (use cpu or auto)"
                        : "this machine has " + gpus + " GPU(s), gpu:0 to gpu:" + (gpus - 1)));
            }
            return Device.gpu(index);
        }
        return Device.fromName(name, pytorch());
    }

    private static void setIfAbsent(String key, String value) {
        if (System.getProperty(key) == null && System.getenv(key) == null) {
            System.setProperty(key, value);
        }
    }
}
