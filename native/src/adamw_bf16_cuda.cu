// The bf16 AdamW update of adamw_bf16.h as a CUDA kernel: one launch per tensor, a grid-stride loop over its
// elements, on the caller's stream. Built only where CMake finds a CUDA compiler (SFT4J_CUDA_KERNELS); it needs
// nothing of libtorch, so its launcher takes raw pointers.
#include "adamw_bf16.h"

#include <cuda_runtime.h>

#include <stdexcept>
#include <string>

namespace {

__global__ void adamwBf16Kernel(uint16_t* p, const uint16_t* g, uint16_t* m, uint16_t* v, uint16_t* c, int64_t n,
                                sft4j::adamw::Hyper h) {
  int64_t stride = int64_t(blockDim.x) * gridDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) {
    sft4j::adamw::update(p, g, m, v, c, i, h);
  }
}

}  // namespace

namespace sft4j {
namespace adamw {

void launchCuda(uint16_t* p, const uint16_t* g, uint16_t* m, uint16_t* v, uint16_t* c, int64_t n, const Hyper& h,
                cudaStream_t stream) {
  if (n == 0) return;
  const int threads = 256;
  int64_t blocks = (n + threads - 1) / threads;
  if (blocks > 16384) blocks = 16384;   // the grid-stride loop covers the rest
  adamwBf16Kernel<<<unsigned(blocks), threads, 0, stream>>>(p, g, m, v, c, n, h);
  cudaError_t err = cudaGetLastError();
  if (err != cudaSuccess) throw std::runtime_error(std::string("bf16 AdamW kernel: ") + cudaGetErrorString(err));
}

}  // namespace adamw
}  // namespace sft4j
