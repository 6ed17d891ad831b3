// One AdamW update of a bf16 weight that keeps what round-to-nearest would lose: torch.optim.AdamW's arithmetic in
// fp32 (bias-corrected moments, decoupled weight decay), then the new weight rounded to bf16 in one of three ways:
//   NEAREST     round to nearest even, as torch's fused kernel does (an update under half a bf16 step is lost);
//   KAHAN       Kahan-compensated: what rounding dropped is kept in a bf16 buffer and added to the next update
//               ("Revisiting BFloat16 Training", Zamirai et al. 2020; optimi's kahan_sum);
//   STOCHASTIC  rounded up or down with probability given by the distance (torchao's bf16_stochastic_round), from a
//               counter-based hash of (seed, element), so a step is a function of its inputs and resumes exactly.
// The same element function runs in the CPU loop (sft4j_native.cpp) and in the CUDA kernel at the end of this file,
// which cuda_kernels.cpp has NVRTC compile from this very text at run time, so the CPU tests check the arithmetic the
// GPU runs. bf16 values are handled as raw bits: no bf16 type is needed. NVRTC has no standard headers, hence the
// __CUDACC_RTC__ branches.
#pragma once

#ifdef __CUDACC_RTC__
typedef unsigned short uint16_t;
typedef unsigned int uint32_t;
typedef unsigned long long uint64_t;
typedef long long int64_t;
#define SFT4J_HD __device__ __forceinline__
#else
#include <cmath>
#include <cstdint>
#include <cstring>
#define SFT4J_HD inline __attribute__((always_inline))   // into the CPU loop, so that it vectorises
#endif

namespace sft4j {
namespace adamw {

enum Rule : int { NEAREST = 0, KAHAN = 1, STOCHASTIC = 2 };

// Everything but the tensors; the bias corrections are computed on the host in double, as torch does.
struct Hyper {
  float lr;
  float beta1;
  float beta2;
  float decay;      // lr * weight_decay
  float eps;
  float stepSize;   // lr / (1 - beta1^t)
  float bc2Sqrt;    // sqrt(1 - beta2^t)
  int rule;
  uint64_t seed;    // STOCHASTIC: one per tensor and step
};

#ifdef __CUDACC_RTC__
SFT4J_HD float bitsToFloat(uint32_t u) { return __uint_as_float(u); }
SFT4J_HD uint32_t floatToBits(float f) { return __float_as_uint(f); }
#else
SFT4J_HD float bitsToFloat(uint32_t u) {
  float f;
  memcpy(&f, &u, sizeof f);
  return f;
}

SFT4J_HD uint32_t floatToBits(float f) {
  uint32_t u;
  memcpy(&u, &f, sizeof u);
  return u;
}
#endif

SFT4J_HD float bf16ToFloat(uint16_t b) { return bitsToFloat(uint32_t(b) << 16); }

// round to nearest even, as c10::BFloat16's constructor (NaN stays a quiet NaN); selects, not branches, so that the
// CPU loop vectorises
SFT4J_HD uint16_t floatToBf16(float f) {
  uint32_t u = floatToBits(f);
  uint32_t rounded = (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
  return uint16_t((u & 0x7fffffffu) > 0x7f800000u ? (u >> 16) | 0x40u : rounded);
}

// rounds |f| up with probability (its bits below bf16's) / 2^16: unbiased, E[result] = f
SFT4J_HD uint16_t floatToBf16Stochastic(float f, uint32_t random16) {
  uint32_t u = floatToBits(f);
  uint32_t magnitude = u & 0x7fffffffu;
  uint32_t rounded = (u + (random16 & 0xffffu)) >> 16;
  return uint16_t(magnitude > 0x7f800000u ? (u >> 16) | 0x40u : magnitude == 0x7f800000u ? u >> 16 : rounded);
}

// splitmix64's finaliser: 16 well-mixed bits per (seed, index)
SFT4J_HD uint32_t random16(uint64_t seed, uint64_t index) {
  uint64_t z = seed + (index + 1) * 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  return uint32_t(z >> 48);
}

#ifdef __CUDACC_RTC__
SFT4J_HD float squareRoot(float x) { return sqrtf(x); }
#else
SFT4J_HD float squareRoot(float x) { return std::sqrt(x); }
#endif

// Element `i` of the arrays given: weight p, gradient g, moments m and v (bf16 bits, updated in place),
// compensation c (KAHAN only, else null); `element` is its index in the whole tensor (stochastic rounding's).
SFT4J_HD void update(uint16_t* p, const uint16_t* g, uint16_t* m, uint16_t* v, uint16_t* c, int64_t i,
                     uint64_t element, const Hyper& h) {
  float grad = bf16ToFloat(g[i]);
  float m1 = h.beta1 * bf16ToFloat(m[i]) + (1.0f - h.beta1) * grad;
  float v1 = h.beta2 * bf16ToFloat(v[i]) + (1.0f - h.beta2) * grad * grad;
  m[i] = floatToBf16(m1);
  v[i] = floatToBf16(v1);
  float adam = h.stepSize * m1 / (squareRoot(v1) / h.bc2Sqrt + h.eps);
  float w = bf16ToFloat(p[i]);
  if (h.rule == KAHAN) {
    float comp = bf16ToFloat(c[i]);
    // the weight the run would hold in fp32 is w + comp: decay that, add the step, then round once
    float y = comp - h.decay * (w + comp) - adam;
    uint16_t rounded = floatToBf16(w + y);
    c[i] = floatToBf16(y - (bf16ToFloat(rounded) - w));   // what rounding dropped (exact: both are bf16 neighbours)
    p[i] = rounded;
  } else if (h.rule == STOCHASTIC) {
    p[i] = floatToBf16Stochastic(w - h.decay * w - adam, random16(h.seed, element));
  } else {
    p[i] = floatToBf16(w - h.decay * w - adam);
  }
}

// Element i of one tensor.
SFT4J_HD void update(uint16_t* p, const uint16_t* g, uint16_t* m, uint16_t* v, uint16_t* c, int64_t i,
                     const Hyper& h) {
  update(p, g, m, v, c, i, uint64_t(i), h);
}

}  // namespace adamw
}  // namespace sft4j

#ifdef __CUDACC_RTC__
// One launch per tensor, a grid-stride loop over its elements (extern "C": looked up by this name).
extern "C" __global__ void sft4j_adamw_bf16(uint16_t* p, const uint16_t* g, uint16_t* m, uint16_t* v, uint16_t* c,
                                            int64_t n, sft4j::adamw::Hyper h) {
  int64_t stride = int64_t(blockDim.x) * gridDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) {
    sft4j::adamw::update(p, g, m, v, c, i, h);
  }
}

// Eight bf16 values in one 16-byte load or store.
union Pack8 {
  uint4 bits;
  uint16_t e[8];
};

// The same over tensors whose length is a multiple of 8 and whose arrays are 16-byte aligned: each thread moves 8
// elements of every array with one 16-byte load and store (the update is bound by memory, and 2-byte accesses leave
// most of it unused).
extern "C" __global__ void sft4j_adamw_bf16_x8(uint16_t* p, const uint16_t* g, uint16_t* m, uint16_t* v, uint16_t* c,
                                               int64_t n, sft4j::adamw::Hyper h) {
  int64_t packs = n / 8;
  int64_t stride = int64_t(blockDim.x) * gridDim.x;
  for (int64_t j = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; j < packs; j += stride) {
    Pack8 pp, gg, mm, vv, cc;
    pp.bits = reinterpret_cast<const uint4*>(p)[j];
    gg.bits = reinterpret_cast<const uint4*>(g)[j];
    mm.bits = reinterpret_cast<const uint4*>(m)[j];
    vv.bits = reinterpret_cast<const uint4*>(v)[j];
    if (c != nullptr) cc.bits = reinterpret_cast<const uint4*>(c)[j];
#pragma unroll
    for (int k = 0; k < 8; k++) {
      sft4j::adamw::update(pp.e, gg.e, mm.e, vv.e, cc.e, k, uint64_t(j) * 8 + k, h);
    }
    reinterpret_cast<uint4*>(p)[j] = pp.bits;
    reinterpret_cast<uint4*>(m)[j] = mm.bits;
    reinterpret_cast<uint4*>(v)[j] = vv.bits;
    if (c != nullptr) reinterpret_cast<uint4*>(c)[j] = cc.bits;
  }
}
#endif
