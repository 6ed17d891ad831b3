// sft4j's CUDA kernels, compiled at run time by NVRTC and launched through the CUDA driver (cuda_kernels.cpp).
#pragma once

#include "adamw_bf16.h"

#include <string>

namespace sft4j {
namespace cuda {

// Launches adamw_bf16.h's kernel over n elements on `stream` (a cudaStream_t) of GPU `device`, compiling it first if
// this process has not yet. False when this machine cannot compile or load it (the caller then composes the update
// of torch operations; kernelStatus says why); throws when a launch fails.
bool launchAdamwBf16(int device, void* stream, uint16_t* p, const uint16_t* g, uint16_t* m, uint16_t* v, uint16_t* c,
                     int64_t n, const adamw::Hyper& h);

// How GPU `device` runs the kernel: "NVRTC 13.0, sm_90 binary" or why it cannot.
std::string kernelStatus(int device);

}  // namespace cuda
}  // namespace sft4j
