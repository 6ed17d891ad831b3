// Page-locked host tensors of exactly the size asked for, for the optimizer's offloaded state. libtorch's pinned
// allocator (CachingHostAllocator) rounds every block up to a power of two for reuse, so a 2.2 GB embedding shard takes
// 4 GiB and a 7B's offloaded masters and gradients ~16 GB more host memory than they hold. These buffers are allocated
// once and kept, so caching gains nothing: an ordinary host buffer is registered with the CUDA runtime
// (cudaHostRegister, opened with dlopen from the copy libtorch loaded: the build needs no CUDA headers) while it lives.
#pragma once

#include <ATen/ATen.h>

#include <dlfcn.h>

#include <cstdint>

namespace sft4j::pinned {

struct Runtime {
  int (*hostRegister)(void*, size_t, unsigned) = nullptr;
  int (*hostUnregister)(void*) = nullptr;
  int (*getLastError)() = nullptr;
};

// The CUDA runtime libtorch already loaded (RTLD_NOLOAD: never a second copy); empty where there is none.
inline const Runtime& runtime() {
  static const Runtime found = [] {
    for (const char* name : {"libcudart.so.13", "libcudart.so.12", "libcudart.so"}) {
      void* library = dlopen(name, RTLD_NOW | RTLD_NOLOAD);
      if (library == nullptr) continue;
      Runtime r;
      r.hostRegister = reinterpret_cast<int (*)(void*, size_t, unsigned)>(dlsym(library, "cudaHostRegister"));
      r.hostUnregister = reinterpret_cast<int (*)(void*)>(dlsym(library, "cudaHostUnregister"));
      r.getLastError = reinterpret_cast<int (*)()>(dlsym(library, "cudaGetLastError"));
      if (r.hostRegister && r.hostUnregister && r.getLastError) return r;
    }
    return Runtime{};
  }();
  return found;
}

constexpr size_t kPage = 4096;

// An uninitialised host tensor: page-locked where a GPU is present (whole pages of its own, so no registration
// overlaps another's), pageable otherwise. Without a CUDA runtime to open, libtorch's (rounded) pinned allocator.
inline at::Tensor empty(at::IntArrayRef sizes, const at::TensorOptions& options) {
  at::TensorOptions host = options.device(at::kCPU).pinned_memory(false);
  if (!at::hasCUDA()) return at::empty(sizes, host);
  const Runtime& cuda = runtime();
  size_t bytes = static_cast<size_t>(c10::multiply_integers(sizes)) * options.dtype().itemsize();
  if (cuda.hostRegister == nullptr || bytes == 0) return at::empty(sizes, host.pinned_memory(true));
  size_t locked = (bytes + kPage - 1) / kPage * kPage;
  at::Tensor block = at::empty({static_cast<int64_t>(locked + kPage)}, host.dtype(at::kByte));
  auto start = reinterpret_cast<uintptr_t>(block.data_ptr());
  void* aligned = reinterpret_cast<void*>((start + kPage - 1) / kPage * kPage);
  if (cuda.hostRegister(aligned, locked, 0) != 0) {
    cuda.getLastError();   // not left for libtorch's next check to find
    return at::empty(sizes, host.pinned_memory(true));
  }
  auto* owner = new at::Tensor(block);
  auto unregister = cuda.hostUnregister;
  return at::from_blob(aligned, sizes, [owner, unregister](void* p) {
    unregister(p);
    delete owner;
  }, host);
}

}  // namespace sft4j::pinned
