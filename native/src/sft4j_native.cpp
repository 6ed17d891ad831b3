// sft4j's native extension. Compiled against the libtorch DJL runs on, these functions read DJL tensor
// handles and return new ones (handles.h), which Java wraps in PtNDArrays that DJL frees as its own.
// Operations record autograd history like any other: grad mode is thread-local and DJL turns it on for
// the calling thread.
#include "handles.h"

#include <ATen/ATen.h>
#include <ATen/Context.h>
#include <c10/core/GradMode.h>
#include <torch/version.h>

#ifdef SFT4J_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#endif

#include <optional>

namespace {

using sft4j::handle;
using sft4j::tensor;
using sft4j::tensors;
using sft4j::throwJava;

at::ScalarType scalarType(jint code) {
  switch (code) {
    case 1: return at::kBFloat16;
    case 2: return at::kHalf;
    default: return at::kFloat;
  }
}

}  // namespace

#define SFT4J_TRY try {
#define SFT4J_CATCH(ret) } catch (const std::exception& e) { throwJava(env, e.what()); return ret; }

extern "C" {

JNIEXPORT jstring JNICALL Java_org_sft4j_nd_NativeOps_torchVersion(JNIEnv* env, jclass) {
  return env->NewStringUTF(TORCH_VERSION);
}

// dtype codes: 0 float32, 1 bfloat16, 2 float16. Tensor::to is differentiable, unlike DJL's toType.
JNIEXPORT jlong JNICALL Java_org_sft4j_nd_NativeOps_cast(JNIEnv* env, jclass, jlong x, jint dtype) {
  SFT4J_TRY
  return handle(tensor(x).to(scalarType(dtype)));
  SFT4J_CATCH(0)
}

JNIEXPORT jint JNICALL Java_org_sft4j_nd_NativeOps_dtype(JNIEnv* env, jclass, jlong x) {
  SFT4J_TRY
  switch (tensor(x).scalar_type()) {
    case at::kBFloat16: return 1;
    case at::kHalf: return 2;
    case at::kFloat: return 0;
    default: return -1;
  }
  SFT4J_CATCH(-1)
}

// Fused attention (flash / memory-efficient / cuDNN kernels as PyTorch picks). mask: 0 for none, else an
// additive mask broadcastable to (B, H, T, S). gqa: key/value have fewer heads than the query.
JNIEXPORT jlong JNICALL Java_org_sft4j_nd_NativeOps_sdpa(JNIEnv* env, jclass, jlong q, jlong k, jlong v, jlong mask,
                                                        jboolean causal, jdouble scale, jboolean gqa) {
  SFT4J_TRY
  std::optional<at::Tensor> m;
  if (mask != 0) m = tensor(mask);
  return handle(at::scaled_dot_product_attention(tensor(q), tensor(k), tensor(v), m, 0.0, causal, scale, gqa));
  SFT4J_CATCH(0)
}

// RMSNorm over the last dimension in one kernel (as LlamaRMSNorm computes it, in the input's dtype).
JNIEXPORT jlong JNICALL Java_org_sft4j_nd_NativeOps_rmsNorm(JNIEnv* env, jclass, jlong x, jlong weight, jdouble eps) {
  SFT4J_TRY
  const at::Tensor& t = tensor(x);
  return handle(at::rms_norm(t, {t.size(-1)}, tensor(weight), eps));
  SFT4J_CATCH(0)
}

// silu(gate) * up, the SwiGLU of Llama's MLP.
JNIEXPORT jlong JNICALL Java_org_sft4j_nd_NativeOps_siluMul(JNIEnv* env, jclass, jlong gate, jlong up) {
  SFT4J_TRY
  return handle(at::silu(tensor(gate)) * tensor(up));
  SFT4J_CATCH(0)
}

JNIEXPORT void JNICALL Java_org_sft4j_nd_NativeOps_setTf32(JNIEnv* env, jclass, jboolean on) {
  SFT4J_TRY
  at::globalContext().setAllowTF32CuBLAS(on);
  at::globalContext().setAllowTF32CuDNN(on);
  SFT4J_CATCH()
}

// One AdamW step over all given parameters (PyTorch's fused kernel, as torch.optim.AdamW(fused=True)).
// steps: one float32 scalar tensor per parameter, incremented by the kernel.
JNIEXPORT void JNICALL Java_org_sft4j_nd_NativeOps_fusedAdamW(JNIEnv* env, jclass, jlongArray params, jlongArray grads,
                                                             jlongArray m, jlongArray v, jlongArray steps, jdouble lr,
                                                             jdouble beta1, jdouble beta2, jdouble weightDecay,
                                                             jdouble eps) {
  SFT4J_TRY
  c10::NoGradGuard noGrad;
  auto p = tensors(env, params);
  auto g = tensors(env, grads);
  auto ms = tensors(env, m);
  auto vs = tensors(env, v);
  auto st = tensors(env, steps);
  std::vector<at::Tensor> none;
  at::_fused_adamw_(p, g, ms, vs, none, st, lr, beta1, beta2, weightDecay, eps, false, false, std::nullopt, std::nullopt);
  SFT4J_CATCH()
}

// CUDA caching allocator statistics of a device: allocated, peak allocated, reserved, peak reserved (bytes).
JNIEXPORT jlongArray JNICALL Java_org_sft4j_nd_NativeOps_cudaMemory(JNIEnv* env, jclass, jint device) {
  SFT4J_TRY
  jlong values[4] = {0, 0, 0, 0};
#ifdef SFT4J_CUDA
  auto s = c10::cuda::CUDACachingAllocator::getDeviceStats(device);
  const size_t all = 0;  // StatType::AGGREGATE
  values[0] = s.allocated_bytes[all].current;
  values[1] = s.allocated_bytes[all].peak;
  values[2] = s.reserved_bytes[all].current;
  values[3] = s.reserved_bytes[all].peak;
#endif
  jlongArray out = env->NewLongArray(4);
  env->SetLongArrayRegion(out, 0, 4, values);
  return out;
  SFT4J_CATCH(nullptr)
}

JNIEXPORT void JNICALL Java_org_sft4j_nd_NativeOps_resetPeakMemory(JNIEnv* env, jclass, jint device) {
  SFT4J_TRY
#ifdef SFT4J_CUDA
  c10::cuda::CUDACachingAllocator::resetPeakStats(device);
#endif
  SFT4J_CATCH()
}

}  // extern "C"
