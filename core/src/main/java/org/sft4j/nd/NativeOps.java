package org.sft4j.nd;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;
import org.slf4j.LoggerFactory;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * sft4j's optional native extension ({@code native/}, C++ over libtorch): bf16 casts that keep autograd,
 * fused attention, fused AdamW, CUDA memory statistics and torch.distributed. It is loaded when
 * {@code SFT4J_NATIVE} names the library (or {@code native/build/libsft4j_native.so} exists in the
 * installation); without it every operation takes DJL's portable path.
 */
public final class NativeOps {

    private static final String LIB = "libsft4j_native.so";
    private static volatile Boolean available;

    /** dtype codes shared with the C++ side. */
    public static final int FLOAT32 = 0;
    public static final int BFLOAT16 = 1;
    public static final int FLOAT16 = 2;
    /** No cast (for {@link #linear} and {@link #attention}'s dtype arguments). */
    public static final int KEEP = -1;

    private NativeOps() {}

    private static native String torchVersion();

    private static native long cast(long x, int dtype);

    private static native int dtype(long x);

    private static native long retype(long x, int dtype);

    private static native long sdpa(long q, long k, long v, long mask, boolean causal, double scale, boolean gqa, int dtype,
                                    int outDtype);

    private static native long linear(long x, long w, long b, int dtype, int outDtype);

    private static native long linearGraphOnly(long x, long w, long b, int dtype, int outDtype);

    private static native void setTf32(boolean on);

    private static native long rmsNorm(long x, long weight, double eps);

    private static native long siluMul(long gate, long up);

    private static native long geluTanhMul(long gate, long up);

    private static native long rmsNormPlusOne(long x, long weight, double eps);

    private static native long softcap(long x, double cap);

    private static native long softcappedAttention(long q, long k, long v, long mask, double scale, int kvGroups,
                                                   double cap, int dtype, int outDtype);

    private static native void fusedAdamW(long[] params, long[] grads, long[] m, long[] v, long[] steps, double lr,
                                          double beta1, double beta2, double weightDecay, double eps, double gradCoef);

    private static native void adamWBf16(long[] params, long[] grads, long[] m, long[] v, long[] comp, int step, double lr,
                                         double beta1, double beta2, double weightDecay, double eps, int rule, long seed,
                                         boolean composed);

    private static native String cudaKernelStatus(int device);

    private static native long zerosLike(long x);

    private static native void copyInto(long dst, long src);

    private static native long crossEntropySum(long logits, long targets, long ignoreIndex);

    private static native long clipGradNorm(long[] grads, double maxNorm);

    private static native void zeroAll(long[] xs);

    private static native void dropGradients(long[] params);

    private static native long rope(long x, long cos, long signedSin);

    private static native void mulAll(long[] xs, double factor);

    private static native long[] cudaMemory(int device);

    private static native long hostAllocated();

    private static native void resetPeakMemory(int device);

    private static native boolean countHostTensors();

    private static native long[] hostTensorMemory();

    private static native void resetHostTensorPeak();

    /** The libtorch version the extension was compiled against. */
    public static String version() {
        return torchVersion();
    }

    /** {@code x} in another dtype ({@link #FLOAT32}, {@link #BFLOAT16}, {@link #FLOAT16}); unlike DJL's toType it keeps autograd. */
    public static NDArray cast(NDArray x, int dtype) {
        return wrap(x, cast(handle(x), dtype));
    }

    /**
     * {@code x}'s memory read as another dtype of the same element size ({@link #BFLOAT16} and {@link #FLOAT16}), no
     * copy: a tensor of its own sharing x's storage, owned by x's manager. DJL can neither create nor copy bf16
     * arrays, so bf16 data travels through DJL as fp16-typed arrays holding the same bits.
     */
    public static NDArray retype(NDArray x, int dtype) {
        return wrap(x, retype(handle(x), dtype));
    }

    /** The dtype code of {@code x} (DJL reports bf16 arrays as UNKNOWN), -1 for other types. */
    public static int dtypeOf(NDArray x) {
        return dtype(handle(x));
    }

    /**
     * Scaled dot-product attention through PyTorch's fused kernels: q (B, H, T, D), k and v (B, Hkv, S, D).
     *
     * @param mask an additive mask broadcastable to (B, H, T, S), or null
     * @param causal a causal mask of its own (only with {@code mask == null})
     * @param gqa k and v have fewer heads than q (grouped-query attention)
     */
    public static NDArray attention(NDArray q, NDArray k, NDArray v, NDArray mask, boolean causal, double scale, boolean gqa) {
        return attention(q, k, v, mask, causal, scale, gqa, KEEP, KEEP);
    }

    /**
     * As {@link #attention(NDArray, NDArray, NDArray, NDArray, boolean, double, boolean)}, with q, k, v and the mask
     * cast to {@code dtype} first and the result to {@code outDtype} ({@link #KEEP}: no cast), in one native call.
     */
    public static NDArray attention(NDArray q, NDArray k, NDArray v, NDArray mask, boolean causal, double scale, boolean gqa,
                                    int dtype, int outDtype) {
        return wrap(q, sdpa(handle(q), handle(k), handle(v), mask == null ? 0 : handle(mask), causal, scale, gqa, dtype,
                outDtype));
    }

    /**
     * {@code x W^T + b} (b may be null) with x, W and b cast to {@code dtype} first and the result to
     * {@code outDtype} ({@link #KEEP}: no cast), in one native call; gradients reach the uncast arrays.
     */
    public static NDArray linear(NDArray x, NDArray w, NDArray b, int dtype, int outDtype) {
        return wrap(x, linear(handle(x), handle(w), b == null ? 0 : handle(b), dtype, outDtype));
    }

    /**
     * As {@link #linear}, recording its graph without computing its values (under grad mode, for rows {@code (N, C)}):
     * the result holds whatever the allocator gave, its backward gives linear's gradients. For a recomputed forward
     * whose result only backward reaches, through operations that do not read it (a residual add).
     */
    public static NDArray linearGraphOnly(NDArray x, NDArray w, NDArray b, int dtype, int outDtype) {
        return wrap(x, linearGraphOnly(handle(x), handle(w), b == null ? 0 : handle(b), dtype, outDtype));
    }

    /** RMSNorm over the last dimension, one fused kernel: x / sqrt(mean(x^2) + eps) * weight. */
    public static NDArray rmsNorm(NDArray x, NDArray weight, double eps) {
        return wrap(x, rmsNorm(handle(x), handle(weight), eps));
    }

    /** silu(gate) * up (SwiGLU). */
    public static NDArray siluMul(NDArray gate, NDArray up) {
        return wrap(gate, siluMul(handle(gate), handle(up)));
    }

    /** gelu(gate, approximate='tanh') * up (Gemma's GeGLU). */
    public static NDArray geluTanhMul(NDArray gate, NDArray up) {
        return wrap(gate, geluTanhMul(handle(gate), handle(up)));
    }

    /** Gemma's RMSNorm: x / sqrt(mean(x^2) + eps) * (1 + weight), in fp32, returned in x's dtype. */
    public static NDArray rmsNormPlusOne(NDArray x, NDArray weight, double eps) {
        return wrap(x, rmsNormPlusOne(handle(x), handle(weight), eps));
    }

    /** cap * tanh(x / cap) in x's dtype. */
    public static NDArray softcap(NDArray x, double cap) {
        return wrap(x, softcap(handle(x), cap));
    }

    /**
     * Attention with Gemma 2's soft-capped scores, composed as transformers' eager attention (no fused kernel has the
     * cap): q, k, v and the additive mask cast to {@code dtype} first, the result to {@code outDtype}.
     */
    public static NDArray softcappedAttention(NDArray q, NDArray k, NDArray v, NDArray mask, double scale, int kvGroups,
                                              double cap, int dtype, int outDtype) {
        return wrap(q, softcappedAttention(handle(q), handle(k), handle(v), handle(mask), scale, kvGroups, cap, dtype,
                outDtype));
    }

    /** Lets fp32 matrix products use TF32 tensor cores (off by default, as in PyTorch). */
    public static void allowTf32(boolean on) {
        setTf32(on);
    }

    /**
     * One AdamW update of all {@code params} with PyTorch's fused kernel; {@code step} is a scalar tensor. The
     * gradients are multiplied by {@code gradCoef} first (the kernel's {@code grad_scale}, 1 / gradCoef: it divides
     * them as it reads them, and writes them back so).
     */
    public static void fusedAdamW(List<NDArray> params, List<NDArray> grads, List<NDArray> m, List<NDArray> v,
                                  NDArray step, double lr, double beta1, double beta2, double weightDecay, double eps,
                                  double gradCoef) {
        long[] steps = new long[params.size()];
        java.util.Arrays.fill(steps, handle(step));   // the kernel only reads the step
        fusedAdamW(handles(params), handles(grads), handles(m), handles(v), steps, lr, beta1, beta2, weightDecay, eps,
                gradCoef);
    }

    /**
     * One AdamW update of bf16 weights by the extension's own kernel (native/src/adamw_bf16.h): fp32 arithmetic, the
     * new weight rounded under {@code step.bf16()}'s rule; {@code comp} holds a Kahan buffer per weight (KAHAN only).
     * Every tensor is contiguous bf16. On a GPU the kernel is compiled by NVRTC when first used; where it cannot be
     * ({@link #cudaKernel(int)} says why) the same arithmetic runs as composed torch operations.
     */
    public static void adamWBf16(List<NDArray> params, List<NDArray> grads, List<NDArray> m, List<NDArray> v,
                                 List<NDArray> comp, AdamWStep step) {
        adamWBf16(params, grads, m, v, comp, step, false);
    }

    /** As above; {@code composed}: torch operations instead of the kernel (to check or time one against the other). */
    public static void adamWBf16(List<NDArray> params, List<NDArray> grads, List<NDArray> m, List<NDArray> v,
                          List<NDArray> comp, AdamWStep step, boolean composed) {
        adamWBf16(handles(params), handles(grads), handles(m), handles(v), handles(comp), step.step(), step.lr(),
                step.beta1(), step.beta2(), step.weightDecay(), step.eps(), step.bf16().code(), step.seed(), composed);
    }

    /**
     * How GPU {@code device} runs sft4j's CUDA kernel (bf16 AdamW): "NVRTC 13.0, sm_90 binary" when NVRTC compiled it,
     * else "not available: " and why (then the composed operations run). Compiles the kernel if not done yet.
     */
    public static String cudaKernel(int device) {
        if (!available()) {
            return "not available: no native extension";
        }
        try {
            return cudaKernelStatus(device);
        } catch (UnsatisfiedLinkError e) {   // an extension built before run-time compilation existed
            return "not available: the native extension predates it (run native/build.sh)";
        }
    }

    /** Zeros shaped and typed like {@code x} (bf16 included), without autograd, owned by {@code x}'s manager. */
    public static NDArray zerosLike(NDArray x) {
        return wrap(x, zerosLike(handle(x)));
    }

    /** {@code dst.copy_(src)}: copies values in place, converting the dtype, without autograd. */
    public static void copyInto(NDArray dst, NDArray src) {
        copyInto(handle(dst), handle(src));
    }

    /**
     * Summed cross-entropy of {@code logits} (N, V), any float dtype, against int64 {@code targets} (N), computed
     * in fp32; targets equal to {@code ignoreIndex} add nothing. A differentiable fp32 scalar.
     */
    public static NDArray crossEntropySum(NDArray logits, NDArray targets, long ignoreIndex) {
        return wrap(logits, crossEntropySum(handle(logits), handle(targets), ignoreIndex));
    }

    /**
     * {@code torch.nn.utils.clip_grad_norm_} on the device: scales {@code grads} in place when their global L2
     * norm exceeds {@code maxNorm} (no clipping when {@code maxNorm <= 0}) and returns that norm as an fp32
     * scalar, without waiting for the device.
     */
    public static NDArray clipGradNorm(List<NDArray> grads, double maxNorm, NDManager owner) {
        return new PtNDArray((PtNDManager) owner, clipGradNorm(handles(grads), maxNorm));
    }

    /** Zeroes every array in place with one foreach launch. */
    public static void zeroAll(List<NDArray> xs) {
        zeroAll(handles(xs));
    }

    /** Frees the gradients of {@code params} ({@code zero_grad(set_to_none=True)}); false for an older extension. */
    public static boolean dropGradients(List<NDArray> params) {
        try {
            dropGradients(handles(params));
            return true;
        } catch (UnsatisfiedLinkError e) {
            return false;
        }
    }

    /** Multiplies every array in place by {@code factor} with one foreach launch. */
    public static void mulAll(List<NDArray> xs, double factor) {
        mulAll(handles(xs), factor);
    }

    /**
     * Rotary embedding {@code x * cos + rotate_half(x) * sin} of x's first cos-width dimensions (the rest pass
     * through) in one native call, in x's dtype; signedSin is sin with rotate_half's sign (see {@link Compute#rope}).
     */
    public static NDArray rope(NDArray x, NDArray cos, NDArray signedSin) {
        return wrap(x, rope(handle(x), handle(cos), handle(signedSin)));
    }

    /** CUDA allocator statistics of a GPU: allocated, peak allocated, reserved, peak reserved, in bytes. */
    public static long[] cudaMemory(Device device) {
        return cudaMemory(Math.max(0, device.getDeviceId()));   // DJL names the default GPU -1
    }

    /**
     * Bytes this process holds from malloc (glibc's count), where libtorch's CPU tensors live: the growth across a
     * forward pass is what autograd keeps for backward. -1 where it cannot be counted.
     */
    public static long hostAllocatedBytes() {
        try {
            return hostAllocated();
        } catch (UnsatisfiedLinkError e) {   // an extension built before this existed
            return -1;
        }
    }

    public static void resetPeakMemory(Device device) {
        resetPeakMemory(Math.max(0, device.getDeviceId()));
    }

    /**
     * Starts counting libtorch's CPU tensor memory (allocations from now on), the CPU's twin of {@link #cudaMemory}'s
     * allocated and peak; false where it cannot be counted (an extension built before this existed, or a CPU
     * allocator of another kind).
     */
    public static boolean countHostTensorMemory() {
        try {
            return countHostTensors();
        } catch (UnsatisfiedLinkError e) {
            return false;
        }
    }

    /** CPU tensor bytes allocated now and at most since {@link #resetHostTensorPeakBytes()}, counted as they were asked for. */
    public static long[] hostTensorBytes() {
        return hostTensorMemory();
    }

    /** Starts a new CPU tensor peak from the bytes allocated now. */
    public static void resetHostTensorPeakBytes() {
        resetHostTensorPeak();
    }

    private static long handle(NDArray x) {
        return ((PtNDArray) x).getHandle();
    }

    /** The libtorch tensor pointers behind DJL arrays, for native calls. */
    static long[] handles(List<NDArray> xs) {
        long[] out = new long[xs.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = handle(xs.get(i));
        }
        return out;
    }

    /** A new tensor handle from the extension, owned by the manager of {@code like}. */
    private static NDArray wrap(NDArray like, long h) {
        NDManager m = like.getManager();
        return new PtNDArray((PtNDManager) m, h);
    }

    /** Whether the extension is loaded (loads it on first call, after DJL's libtorch). */
    public static synchronized boolean available() {
        if (available == null) {
            available = load();
        }
        return available;
    }

    /** The folder the extension was loaded from (its optional companion libraries live beside it), or null. */
    static Path libraryDir() {
        Path lib = available() ? locate() : null;
        return lib == null ? null : lib.toAbsolutePath().getParent();
    }

    private static boolean load() {
        Path lib = locate();
        if (lib == null) {
            return false;
        }
        String running = Engines.pytorch().getVersion();   // libtorch first: the extension links against the same libraries
        try {
            System.load(lib.toAbsolutePath().toString());
        } catch (UnsatisfiedLinkError e) {
            LoggerFactory.getLogger(NativeOps.class).warn("native extension {} did not load ({}); using the portable path",
                    lib, e.getMessage());
            return false;
        }
        // C++ classes change layout between libtorch releases: an extension built for another one crashes the JVM
        String built = torchVersion();
        if (!release(built).equals(release(running))) {
            LoggerFactory.getLogger(NativeOps.class).warn("native extension {} was built against libtorch {}, but this "
                    + "run uses libtorch {}; using the portable path (rebuild it with native/build.sh against the libtorch "
                    + "the run uses, or set PYTORCH_LIBRARY_PATH and PYTORCH_VERSION to the one it was built against)",
                    lib, built, running);
            return false;
        }
        return true;
    }

    /** major.minor.patch of a version such as {@code 2.11.0+cu130}. */
    private static String release(String version) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("^(\\d+\\.\\d+\\.\\d+)").matcher(version);
        return m.find() ? m.group(1) : version;
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
