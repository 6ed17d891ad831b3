// sft4j's native extension. Compiled against the libtorch DJL runs on, these functions read DJL tensor
// handles and return new ones (handles.h), which Java wraps in PtNDArrays that DJL frees as its own.
// Operations record autograd history like any other: grad mode is thread-local and DJL turns it on for
// the calling thread.
#include "adamw_bf16.h"
#include "handles.h"
#include "host_tensor_memory.h"

#include <ATen/ATen.h>
#include <ATen/Context.h>
#include <ATen/Parallel.h>
#include <ATen/core/Reduction.h>
#include <c10/core/GradMode.h>
#include <torch/csrc/autograd/custom_function.h>
#include <torch/version.h>

#ifdef SFT4J_CUDA
#include "cuda_kernels.h"

#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#endif

#include <algorithm>
#include <cmath>
#include <malloc.h>
#include <map>
#include <optional>
#include <stdexcept>
#include <thread>
#include <vector>

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

// t in the type a dtype code names, or t itself for -1 (NativeOps.KEEP) or when it has that type already (where
// Tensor::to would return t too, after a dispatch the host pays for on every call)
at::Tensor as(const at::Tensor& t, jint code) {
  return code < 0 || t.scalar_type() == scalarType(code) ? t : t.to(scalarType(code));
}

uint16_t* bits(const at::Tensor& t) { return reinterpret_cast<uint16_t*>(t.data_ptr()); }

// z >>> k on int64 tensors (ATen's right shift of a signed type is arithmetic)
at::Tensor shiftRight(const at::Tensor& z, int64_t k) {
  return at::bitwise_right_shift(z, k).bitwise_and_((int64_t(1) << (64 - k)) - 1);
}

// x (fp32) stochastically rounded to bf16 with adamw_bf16.h's random bits, composed of ATen operations
at::Tensor stochasticBf16(const at::Tensor& x, uint64_t seed) {
  at::Tensor z = at::arange(1, x.numel() + 1, x.options().dtype(at::kLong))
                     .mul_(int64_t(0x9E3779B97F4A7C15ull)).add_(int64_t(seed));
  z = at::bitwise_xor(z, shiftRight(z, 30)).mul_(int64_t(0xBF58476D1CE4E5B9ull));
  z = at::bitwise_xor(z, shiftRight(z, 27)).mul_(int64_t(0x94D049BB133111EBull));
  z = at::bitwise_xor(z, shiftRight(z, 31));
  at::Tensor bits = x.contiguous().view(-1).view(at::kInt).add(shiftRight(z, 48).to(at::kInt));
  at::Tensor rounded = bits.bitwise_right_shift_(16).bitwise_and_(0xffff).to(at::kShort).view(at::kBFloat16);
  return at::where(x.view(-1).isfinite(), rounded, x.view(-1).to(at::kBFloat16)).view(x.sizes());
}

// adamw_bf16.h's update composed of ATen operations on fp32 temporaries: for a GPU whose kernel NVRTC could not build.
void adamwBf16Composed(const at::Tensor& p, const at::Tensor& g, const at::Tensor& m, const at::Tensor& v,
                       const at::Tensor* c, const sft4j::adamw::Hyper& h) {
  at::Tensor g32 = g.to(at::kFloat);
  at::Tensor m32 = m.to(at::kFloat).mul_(h.beta1).add_(g32, 1.0f - h.beta1);
  at::Tensor v32 = v.to(at::kFloat).mul_(h.beta2).addcmul_(g32, g32, 1.0f - h.beta2);
  m.copy_(m32);
  v.copy_(v32);
  at::Tensor adam = m32.mul_(h.stepSize).div_(v32.sqrt_().div_(h.bc2Sqrt).add_(h.eps));
  at::Tensor w = p.to(at::kFloat);
  if (h.rule == sft4j::adamw::KAHAN) {
    at::Tensor comp = c->to(at::kFloat);
    at::Tensor y = comp - (w + comp) * h.decay - adam;
    at::Tensor rounded = (w + y).to(at::kBFloat16);
    c->copy_(y - (rounded.to(at::kFloat) - w));
    p.copy_(rounded);
  } else {
    at::Tensor x = w - w * h.decay - adam;
    p.copy_(h.rule == sft4j::adamw::STOCHASTIC ? stochasticBf16(x, h.seed) : x.to(at::kBFloat16));
  }
}

// Elements [begin, end) of one tensor's bf16 AdamW update on the CPU, one loop per rounding rule so that each
// vectorises. Compiled for AVX-512 and AVX2 beside the baseline, picked by the CPU at load (GCC's function
// multiversioning): the loop is compute-bound (stochastic rounding's hash, the square root and division), and an
// offloaded bf16-true update runs it over every weight each step. Without FMA contraction every version gives the
// baseline's bits.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#endif
void hostAdamwBf16(uint16_t* __restrict p, const uint16_t* __restrict g, uint16_t* __restrict m,
                   uint16_t* __restrict v, uint16_t* __restrict c, int64_t begin, int64_t end,
                   const sft4j::adamw::Hyper& shared) {
  const sft4j::adamw::Hyper h = shared;   // a local copy: the rule is seen not to change inside the loops
  switch (h.rule) {
    case sft4j::adamw::STOCHASTIC:
      for (int64_t i = begin; i < end; i++) sft4j::adamw::update(p, g, m, v, c, i, h);
      break;
    case sft4j::adamw::KAHAN:
      for (int64_t i = begin; i < end; i++) sft4j::adamw::update(p, g, m, v, c, i, h);
      break;
    default:
      for (int64_t i = begin; i < end; i++) sft4j::adamw::update(p, g, m, v, c, i, h);
      break;
  }
}

// One tensor's bf16 AdamW update (adamw_bf16.h): a parallel loop on CPU, the CUDA kernel on a GPU, or the composed
// operations (on a GPU the kernel could not be built for, or when asked, to check one against the other).
void adamwBf16(const at::Tensor& p, const at::Tensor& g, const at::Tensor& m, const at::Tensor& v,
               const at::Tensor* c, const sft4j::adamw::Hyper& h, bool composed) {
  for (const at::Tensor* t : {&p, &g, &m, &v, c}) {
    if (t == nullptr) continue;
    if (t->scalar_type() != at::kBFloat16 || !t->is_contiguous() || t->numel() != p.numel() ||
        t->device() != p.device()) {
      throw std::invalid_argument("bf16 AdamW needs contiguous bf16 weights, gradients, moments and compensation of "
                                  "one shape on one device");
    }
  }
  int64_t n = p.numel();
  uint16_t* comp = c == nullptr ? nullptr : bits(*c);
#ifdef SFT4J_CUDA
  if (p.is_cuda() && !composed) {
    c10::cuda::CUDAGuard guard(p.device());
    int device = p.device().index();
    if (sft4j::cuda::launchAdamwBf16(device, c10::cuda::getCurrentCUDAStream(device).stream(), bits(p), bits(g),
                                     bits(m), bits(v), comp, n, h)) {
      return;
    }
  }
#endif
  if (composed || p.is_cuda()) {
    adamwBf16Composed(p, g, m, v, c, h);
    return;
  }
  uint16_t* pp = bits(p);
  const uint16_t* gp = bits(g);
  uint16_t* mp = bits(m);
  uint16_t* vp = bits(v);
  auto range = [=, &h](int64_t begin, int64_t end) { hostAdamwBf16(pp, gp, mp, vp, comp, begin, end, h); };
  // Threads of our own, as many as PyTorch's CPU operators use: this extension is compiled without OpenMP, so
  // at::parallel_for would run on this thread alone (an offloaded bf16-true update is GBs). Each element's result
  // depends only on its index (stochastic rounding's hash too), so any split gives the same bits.
  int64_t threads = std::min<int64_t>(at::get_num_threads(), n >> 18);   // at least 256 K elements each
  if (threads <= 1) {
    range(0, n);
    return;
  }
  int64_t per = (n + threads - 1) / threads;
  std::vector<std::thread> others;
  for (int64_t t = 1; t < threads; t++) {
    others.emplace_back(range, t * per, std::min(n, (t + 1) * per));
  }
  range(0, per);
  for (auto& t : others) t.join();
}

}  // namespace

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

// x's memory as another dtype of the same element size (bf16 <-> fp16 bits), no copy, as a tensor of its own that
// shares x's storage (not an autograd view, so it can become a trainable leaf). DJL can neither create nor copy
// bf16 tensors, so bf16 weights travel as fp16-typed arrays holding the same bits.
JNIEXPORT jlong JNICALL Java_org_sft4j_nd_NativeOps_retype(JNIEnv* env, jclass, jlong x, jint dtype) {
  SFT4J_TRY
  c10::NoGradGuard noGrad;
  const at::Tensor& t = tensor(x);
  at::ScalarType type = scalarType(dtype);
  if (c10::elementSize(type) != t.element_size()) throw std::invalid_argument("retype needs equal element sizes");
  at::Tensor out = at::empty({0}, t.options().dtype(type));
  out.set_(t.storage(), t.storage_offset(), t.sizes(), t.strides());
  return handle(out);
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
// additive mask broadcastable to (B, H, T, S). gqa: key/value have fewer heads than the query. dtype: the type
// the inputs are cast to first, outDtype: the type of the result (-1: leave as is), so mixed precision costs
// one call, not six.
JNIEXPORT jlong JNICALL Java_org_sft4j_nd_NativeOps_sdpa(JNIEnv* env, jclass, jlong q, jlong k, jlong v, jlong mask,
                                                        jboolean causal, jdouble scale, jboolean gqa, jint dtype,
                                                        jint outDtype) {
  SFT4J_TRY
  std::optional<at::Tensor> m;
  // fp32's lowest (the "blocked" value, as transformers' finfo.min) overflows to -inf in 16 bits: a query with every
  // key blocked (padding inside a sliding window) would get no finite score; keep the type's lowest finite instead
  if (mask != 0) m = dtype < 0 ? tensor(mask) : at::nan_to_num(as(tensor(mask), dtype));
  at::Tensor out = at::scaled_dot_product_attention(as(tensor(q), dtype), as(tensor(k), dtype), as(tensor(v), dtype),
                                                    m, 0.0, causal, scale, gqa);
  return handle(as(out, outDtype));
  SFT4J_CATCH(0)
}

// x W^T + b, with x, W and b cast to dtype first and the result to outDtype (-1: leave as is): a mixed-precision
// product in one call instead of five. The casts are differentiable, so gradients reach the fp32 originals.
JNIEXPORT jlong JNICALL Java_org_sft4j_nd_NativeOps_linear(JNIEnv* env, jclass, jlong x, jlong w, jlong b, jint dtype,
                                                          jint outDtype) {
  SFT4J_TRY
  std::optional<at::Tensor> bias;
  if (b != 0) bias = as(tensor(b), dtype);
  return handle(as(at::linear(as(tensor(x), dtype), as(tensor(w), dtype), bias), outDtype));
  SFT4J_CATCH(0)
}

// x W^T + b as autograd sees it, its values not computed: the output is uninitialised memory, its backward gives
// linear's gradients (as torch's mm backward forms them). For a product a recomputed forward needs only for its
// graph: in a checkpointed layer's recompute nothing reads the down projection's result (the residual add's
// backward does not), so its GEMM, the largest of the layer, is skipped, as torch.utils.checkpoint's early stop does.
struct GraphOnlyLinear : public torch::autograd::Function<GraphOnlyLinear> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x, const at::Tensor& w,
                            const std::optional<at::Tensor>& b) {
    ctx->save_for_backward({x, w});
    ctx->saved_data["bias"] = b.has_value();
    return at::empty({x.size(0), w.size(0)}, x.options());
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    auto saved = ctx->get_saved_variables();
    const at::Tensor& g = grads[0];
    at::Tensor gx, gw, gb;
    if (ctx->needs_input_grad(0)) gx = g.mm(saved[1]);
    if (ctx->needs_input_grad(1)) gw = g.t().mm(saved[0]);
    if (ctx->saved_data["bias"].toBool() && ctx->needs_input_grad(2)) gb = g.sum(0);
    return {gx, gw, gb};
  }
};

// linear's graph without its values (GraphOnlyLinear), cast as linear casts; outside grad mode, or for an input
// that is not rows (B T, C), the product itself.
JNIEXPORT jlong JNICALL Java_org_sft4j_nd_NativeOps_linearGraphOnly(JNIEnv* env, jclass, jlong x, jlong w, jlong b,
                                                                   jint dtype, jint outDtype) {
  SFT4J_TRY
  std::optional<at::Tensor> bias;
  if (b != 0) bias = as(tensor(b), dtype);
  at::Tensor in = as(tensor(x), dtype);
  at::Tensor weight = as(tensor(w), dtype);
  at::Tensor out = c10::GradMode::is_enabled() && in.dim() == 2 ? GraphOnlyLinear::apply(in, weight, bias)
                                                                : at::linear(in, weight, bias);
  return handle(as(out, outDtype));
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
// steps: one float32 scalar tensor per parameter holding the 1-based step (the kernel reads it). gradCoef != 1: the
// gradients are multiplied by it first, as the kernel's grad_scale (it divides by 1 / gradCoef).
JNIEXPORT void JNICALL Java_org_sft4j_nd_NativeOps_fusedAdamW(JNIEnv* env, jclass, jlongArray params, jlongArray grads,
                                                             jlongArray m, jlongArray v, jlongArray steps, jdouble lr,
                                                             jdouble beta1, jdouble beta2, jdouble weightDecay,
                                                             jdouble eps, jdouble gradCoef) {
  SFT4J_TRY
  c10::NoGradGuard noGrad;
  auto p = tensors(env, params);
  auto g = tensors(env, grads);
  auto ms = tensors(env, m);
  auto vs = tensors(env, v);
  auto st = tensors(env, steps);
  std::vector<at::Tensor> none;
  std::optional<at::Tensor> gradScale;
  if (gradCoef != 1.0 && !p.empty()) gradScale = at::full({}, 1.0 / gradCoef, p[0].options().dtype(at::kFloat));
  at::_fused_adamw_(p, g, ms, vs, none, st, lr, beta1, beta2, weightDecay, eps, false, false, gradScale, std::nullopt);
  SFT4J_CATCH()
}

// AdamW over bf16 weights with a rounding rule (adamw_bf16.h: 0 nearest, 1 Kahan, 2 stochastic); comp holds one
// compensation buffer per weight under Kahan, none otherwise. step is 1-based; seed varies the stochastic rounding
// by run and step (each tensor adds its index). composed: ATen operations instead of the loop or kernel.
JNIEXPORT void JNICALL Java_org_sft4j_nd_NativeOps_adamWBf16(JNIEnv* env, jclass, jlongArray params, jlongArray grads,
                                                            jlongArray m, jlongArray v, jlongArray comp, jint step,
                                                            jdouble lr, jdouble beta1, jdouble beta2,
                                                            jdouble weightDecay, jdouble eps, jint rule, jlong seed,
                                                            jboolean composed) {
  SFT4J_TRY
  c10::NoGradGuard noGrad;
  auto p = tensors(env, params);
  auto g = tensors(env, grads);
  auto ms = tensors(env, m);
  auto vs = tensors(env, v);
  auto cs = tensors(env, comp);
  if (rule == sft4j::adamw::KAHAN && cs.size() != p.size()) {
    throw std::invalid_argument("Kahan summation needs one compensation buffer per weight");
  }
  sft4j::adamw::Hyper h;
  h.lr = float(lr);
  h.beta1 = float(beta1);
  h.beta2 = float(beta2);
  h.decay = float(lr * weightDecay);
  h.eps = float(eps);
  h.stepSize = float(lr / (1.0 - std::pow(beta1, step)));
  h.bc2Sqrt = float(std::sqrt(1.0 - std::pow(beta2, step)));
  h.rule = rule;
  for (size_t i = 0; i < p.size(); i++) {
    h.seed = uint64_t(seed) * 0x100000001B3ull + i;
    adamwBf16(p[i], g[i], ms[i], vs[i], rule == sft4j::adamw::KAHAN ? &cs[i] : nullptr, h, composed);
  }
  SFT4J_CATCH()
}

// How GPU `device` runs bf16 AdamW (adamWBf16): its CUDA kernel as NVRTC compiled it, or why the composed operations
JNIEXPORT jstring JNICALL Java_org_sft4j_nd_NativeOps_cudaKernelStatus(JNIEnv* env, jclass, jint device) {
  SFT4J_TRY
#ifdef SFT4J_CUDA
  c10::cuda::CUDAGuard guard(c10::Device(c10::DeviceType::CUDA, c10::DeviceIndex(device)));
  return env->NewStringUTF(sft4j::cuda::kernelStatus(device).c_str());
#else
  return env->NewStringUTF("not available: this build of the extension has no CUDA");
#endif
  SFT4J_CATCH(nullptr)
}

// Zeros shaped and typed like x, without autograd (optimizer moments of bf16 parameters: DJL cannot make bf16 arrays).
JNIEXPORT jlong JNICALL Java_org_sft4j_nd_NativeOps_zerosLike(JNIEnv* env, jclass, jlong x) {
  SFT4J_TRY
  c10::NoGradGuard noGrad;
  return handle(at::zeros_like(tensor(x)));
  SFT4J_CATCH(0)
}

// dst.copy_(src) without autograd, converting the dtype (restoring bf16 moments from a checkpoint).
JNIEXPORT void JNICALL Java_org_sft4j_nd_NativeOps_copyInto(JNIEnv* env, jclass, jlong dst, jlong src) {
  SFT4J_TRY
  c10::NoGradGuard noGrad;
  tensor(dst).copy_(tensor(src));
  SFT4J_CATCH()
}

// Summed cross-entropy of logits (N, V) against int64 targets (N), in fp32 whatever the logits' dtype (as
// transformers upcasts before its loss); rows whose target is ignoreIndex add nothing.
JNIEXPORT jlong JNICALL Java_org_sft4j_nd_NativeOps_crossEntropySum(JNIEnv* env, jclass, jlong logits, jlong targets,
                                                                   jlong ignoreIndex) {
  SFT4J_TRY
  return handle(at::cross_entropy_loss(tensor(logits).to(at::kFloat), tensor(targets), std::nullopt,
                                       at::Reduction::Sum, ignoreIndex, 0.0));
  SFT4J_CATCH(0)
}

// The 2-norm of a large contiguous fp32 host tensor as the norm of its 4096 row norms: torch's CPU kernels spread a
// reduction over rows across threads, where a whole-tensor norm (and _foreach_norm) runs on one thread; an offloaded
// optimizer's gradients are GBs (1.25 s a step of Qwen2.5-3B on one thread of the H200 machine's host).
static bool isLargeHostFp32(const at::Tensor& g) {
  return g.device().is_cpu() && g.scalar_type() == at::kFloat && g.is_contiguous() && g.numel() >= (int64_t(1) << 20);
}

static at::Tensor hostNorm(const at::Tensor& g) {
  const int64_t rows = 4096, n = g.numel(), per = n / rows;
  at::Tensor flat = g.reshape({-1});
  at::Tensor squares = at::linalg_vector_norm(flat.narrow(0, 0, rows * per).view({rows, per}), 2, {1}).square().sum();
  if (rows * per < n) squares = squares + at::linalg_vector_norm(flat.narrow(0, rows * per, n - rows * per), 2).square();
  return squares.sqrt();
}

// torch.nn.utils.clip_grad_norm_ on the device: per-tensor norms (foreach, by dtype), the norm of those norms,
// and one in-place scale by min(1, maxNorm / (norm + 1e-6)) when maxNorm > 0. No host sync: the total norm
// comes back as an fp32 scalar tensor for the caller to read when it needs it.
JNIEXPORT jlong JNICALL Java_org_sft4j_nd_NativeOps_clipGradNorm(JNIEnv* env, jclass, jlongArray grads, jdouble maxNorm) {
  SFT4J_TRY
  c10::NoGradGuard noGrad;
  std::map<at::ScalarType, std::vector<at::Tensor>> byType;
  for (auto& g : tensors(env, grads)) byType[g.scalar_type()].push_back(g);
  std::vector<at::Tensor> norms;
  for (auto& [type, group] : byType) {
    std::vector<at::Tensor> rest;
    for (auto& g : group) {
      if (isLargeHostFp32(g)) {
        norms.push_back(hostNorm(g));
      } else {
        rest.push_back(g);
      }
    }
    if (!rest.empty()) {
      for (auto& n : at::_foreach_norm(rest, 2)) norms.push_back(n);
    }
  }
  if (norms.empty()) return handle(at::zeros({}, at::kFloat));
  at::Tensor total = at::linalg_vector_norm(at::stack(norms), 2);
  if (maxNorm > 0) {
    at::Tensor coef = (maxNorm / (total + 1e-6)).clamp_max(1.0);
    for (auto& [type, group] : byType) at::_foreach_mul_(group, coef);
  }
  return handle(total.to(at::kFloat));
  SFT4J_CATCH(0)
}

// Zeroes every gradient in place (one foreach launch instead of one per parameter).
JNIEXPORT void JNICALL Java_org_sft4j_nd_NativeOps_zeroAll(JNIEnv* env, jclass, jlongArray xs) {
  SFT4J_TRY
  c10::NoGradGuard noGrad;
  auto ts = tensors(env, xs);
  if (!ts.empty()) at::_foreach_zero_(ts);
  SFT4J_CATCH()
}

// Frees every parameter's gradient (optimizer.zero_grad(set_to_none=True)): no gradient memory is held through the
// next forward; backward allocates them afresh as it reaches each parameter.
JNIEXPORT void JNICALL Java_org_sft4j_nd_NativeOps_dropGradients(JNIEnv* env, jclass, jlongArray params) {
  SFT4J_TRY
  for (auto& p : tensors(env, params)) p.mutable_grad() = at::Tensor();
  SFT4J_CATCH()
}

// Multiplies every tensor in place by one factor (fp16: gradients divided by the loss scale before clipping).
JNIEXPORT void JNICALL Java_org_sft4j_nd_NativeOps_mulAll(JNIEnv* env, jclass, jlongArray xs, jdouble factor) {
  SFT4J_TRY
  c10::NoGradGuard noGrad;
  auto ts = tensors(env, xs);
  if (!ts.empty()) at::_foreach_mul_(ts, at::Scalar(factor));
  SFT4J_CATCH()
}

// Rotary embedding x * cos + rotate_half(x) * sin in the input's dtype, as transformers' apply_rotary_pos_emb; when
// cos is narrower than x (Phi-3's partial_rotary_factor) only x's leading dimensions rotate and the rest pass through.
// signedSin carries rotate_half's sign (its first half negated): one roll swaps the halves, where narrow, neg and cat
// took four operations (and their backward nodes), for the same bits.
JNIEXPORT jlong JNICALL Java_org_sft4j_nd_NativeOps_rope(JNIEnv* env, jclass, jlong x, jlong cos, jlong signedSin) {
  SFT4J_TRY
  const at::Tensor& all = tensor(x);
  int64_t rotary = tensor(cos).size(-1);
  at::Tensor t = rotary < all.size(-1) ? all.narrow(-1, 0, rotary) : all;
  at::Tensor swapped = at::roll(t, {rotary / 2}, {-1});
  at::Tensor out = t * tensor(cos) + swapped * tensor(signedSin);
  if (rotary < all.size(-1)) out = at::cat({out, all.narrow(-1, rotary, all.size(-1) - rotary)}, -1);
  return handle(out);
  SFT4J_CATCH(0)
}

// ---- model families beyond Llama (Gemma, Phi-3) ----

// gelu(gate, approximate='tanh') * up: Gemma's GeGLU (transformers' gelu_pytorch_tanh).
JNIEXPORT jlong JNICALL Java_org_sft4j_nd_NativeOps_geluTanhMul(JNIEnv* env, jclass, jlong gate, jlong up) {
  SFT4J_TRY
  return handle(at::gelu(tensor(gate), "tanh") * tensor(up));
  SFT4J_CATCH(0)
}

// Gemma's RMSNorm: x / sqrt(mean(x^2) + eps) * (1 + w), computed in fp32 and returned in x's dtype, as
// Gemma3RMSNorm does (1 + w is formed in fp32, not in a bf16 weight's precision).
JNIEXPORT jlong JNICALL Java_org_sft4j_nd_NativeOps_rmsNormPlusOne(JNIEnv* env, jclass, jlong x, jlong weight,
                                                                  jdouble eps) {
  SFT4J_TRY
  const at::Tensor& t = tensor(x);
  at::Tensor scale = tensor(weight).to(at::kFloat) + 1.0;
  return handle(at::rms_norm(t.to(at::kFloat), {t.size(-1)}, scale, eps).to(t.scalar_type()));
  SFT4J_CATCH(0)
}

// Attention with Gemma 2's soft-capped scores, as transformers' eager attention computes it (SDPA has no cap): scores
// q k^T * scale, then cap * tanh(s / cap), plus the additive mask, softmax in fp32 back to q's dtype, times v. Key and
// value heads are repeated for grouped queries; inputs cast to dtype first, the result to outDtype (-1: as is).
JNIEXPORT jlong JNICALL Java_org_sft4j_nd_NativeOps_softcappedAttention(JNIEnv* env, jclass, jlong q, jlong k, jlong v,
                                                                       jlong mask, jdouble scale, jint kvGroups,
                                                                       jdouble cap, jint dtype, jint outDtype) {
  SFT4J_TRY
  at::Tensor qq = as(tensor(q), dtype);
  at::Tensor kk = as(tensor(k), dtype);
  at::Tensor vv = as(tensor(v), dtype);
  if (kvGroups > 1) {
    kk = kk.repeat_interleave(kvGroups, 1);
    vv = vv.repeat_interleave(kvGroups, 1);
  }
  at::Tensor scores = at::tanh(at::matmul(qq, kk.transpose(-2, -1)) * scale / cap) * cap;
  scores = scores + (dtype < 0 ? tensor(mask) : at::nan_to_num(as(tensor(mask), dtype)));
  at::Tensor probs = at::softmax(scores, -1, at::kFloat).to(qq.scalar_type());
  return handle(as(at::matmul(probs, vv), outDtype));
  SFT4J_CATCH(0)
}

// cap * tanh(x / cap): Gemma's logit soft-capping, in x's dtype.
JNIEXPORT jlong JNICALL Java_org_sft4j_nd_NativeOps_softcap(JNIEnv* env, jclass, jlong x, jdouble cap) {
  SFT4J_TRY
  return handle(at::tanh(tensor(x) / cap) * cap);
  SFT4J_CATCH(0)
}

// Bytes the process has allocated with malloc (glibc's count, large blocks included): libtorch's CPU tensors live
// there, so the growth across a forward pass is what autograd keeps for backward (a CPU memory check; -1 elsewhere).
JNIEXPORT jlong JNICALL Java_org_sft4j_nd_NativeOps_hostAllocated(JNIEnv*, jclass) {
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
  struct mallinfo2 mi = mallinfo2();
  return jlong(mi.uordblks + mi.hblkhd);
#else
  return -1;
#endif
}

// Starts counting libtorch's CPU tensor memory (host_tensor_memory.h); false where its allocator cannot be counted.
JNIEXPORT jboolean JNICALL Java_org_sft4j_nd_NativeOps_countHostTensors(JNIEnv* env, jclass) {
  SFT4J_TRY
  return sft4j::hostmem::install() ? JNI_TRUE : JNI_FALSE;
  SFT4J_CATCH(JNI_FALSE)
}

// CPU tensor bytes allocated now and at most since the last reset, counted from countHostTensors() on.
JNIEXPORT jlongArray JNICALL Java_org_sft4j_nd_NativeOps_hostTensorMemory(JNIEnv* env, jclass) {
  jlong values[2] = {sft4j::hostmem::current().load(), sft4j::hostmem::peak().load()};
  jlongArray out = env->NewLongArray(2);
  env->SetLongArrayRegion(out, 0, 2, values);
  return out;
}

JNIEXPORT void JNICALL Java_org_sft4j_nd_NativeOps_resetHostTensorPeak(JNIEnv*, jclass) {
  sft4j::hostmem::peak().store(sft4j::hostmem::current().load());
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
