// libtorch's CPU tensor memory, counted: the CPU's twin of the CUDA caching allocator's allocated/peak statistics, so
// a benchmark's peak memory (what autograd keeps plus the arrays a forward still holds plus backward's transients)
// can be measured on a machine without a GPU. install() wraps libtorch's CPU allocator; only allocations made after it
// count. Each allocation carries its size in a header of one alignment unit before the data, so counting is two
// atomic additions and no lock.
#pragma once

#include <c10/core/Allocator.h>
#include <c10/core/CPUAllocator.h>

#include <atomic>
#include <cstdint>
#include <cstring>

namespace sft4j {
namespace hostmem {

// c10's CPU alignment: data placed one unit after the allocator's block stays aligned as libtorch expects
constexpr size_t kHeader = 64;

inline std::atomic<int64_t>& current() {
  static std::atomic<int64_t> bytes{0};
  return bytes;
}

inline std::atomic<int64_t>& peak() {
  static std::atomic<int64_t> bytes{0};
  return bytes;
}

inline c10::DeleterFnPtr& baseDeleter() {
  static c10::DeleterFnPtr deleter = nullptr;
  return deleter;
}

inline void release(void* data) {
  char* block = static_cast<char*>(data) - kHeader;
  int64_t size;
  std::memcpy(&size, block, sizeof size);
  current() -= size;
  baseDeleter()(block);
}

struct CountingAllocator final : c10::Allocator {
  c10::Allocator* base;

  explicit CountingAllocator(c10::Allocator* b) : base(b) {}

  c10::DataPtr allocate(size_t n) override {
    c10::DataPtr block = base->allocate(n + kHeader);
    char* start = static_cast<char*>(block.get());
    c10::Device device = block.device();
    block.release_context();  // freed by release() through the base allocator's deleter
    int64_t size = int64_t(n);
    std::memcpy(start, &size, sizeof size);
    int64_t now = current() += size;
    int64_t high = peak().load();
    while (now > high && !peak().compare_exchange_weak(high, now)) {
    }
    void* data = start + kHeader;
    return c10::DataPtr(data, data, &release, device);  // context == data, as raw_allocate requires
  }

  c10::DeleterFnPtr raw_deleter() const override { return &release; }

  void copy_data(void* dest, const void* src, std::size_t count) const override { std::memcpy(dest, src, count); }
};

// Wraps libtorch's CPU allocator (once); false when it cannot be counted this way (its blocks are not freed by one
// raw deleter, as c10's default allocator's are).
inline bool install() {
  static bool installed = [] {
    c10::Allocator* base = c10::GetCPUAllocator();
    c10::DataPtr probe = base->allocate(1);
    if (base->raw_deleter() == nullptr || probe.get() != probe.get_context()) return false;
    baseDeleter() = base->raw_deleter();
    static CountingAllocator counting(base);
    c10::SetCPUAllocator(&counting, /*priority=*/100);
    return true;
  }();
  return installed;
}

}  // namespace hostmem
}  // namespace sft4j
