// torch.distributed for sft4j: a c10d process group (NCCL, one process per GPU) joined through a TCPStore
// (rank 0 serves it), and all-reduce / broadcast over DJL tensor handles. Built as its own library so the
// rest of the extension does not depend on NCCL headers.
#include "handles.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>
#include <c10/cuda/CUDAFunctions.h>
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <chrono>
#include <string>
#include <vector>

namespace {

using sft4j::tensors;
using Group = c10::intrusive_ptr<c10d::ProcessGroupNCCL>;

Group& group(jlong h) { return *reinterpret_cast<Group*>(h); }

void throwJava(JNIEnv* env, const std::string& what) { sft4j::throwJava(env, what, "sft4j distributed"); }

}  // namespace

extern "C" {

JNIEXPORT jlong JNICALL Java_org_sft4j_nd_Distributed_init(JNIEnv* env, jclass, jstring host, jint port, jint rank,
                                                          jint world, jint device, jint timeoutSeconds) {
  try {
    const char* h = env->GetStringUTFChars(host, nullptr);
    std::string hostName(h);
    env->ReleaseStringUTFChars(host, h);
    c10::cuda::set_device(static_cast<c10::DeviceIndex>(device));
    c10d::TCPStoreOptions opts;
    opts.port = static_cast<uint16_t>(port);
    opts.isServer = rank == 0;
    opts.numWorkers = world;
    opts.waitWorkers = true;
    opts.timeout = std::chrono::seconds(timeoutSeconds);
    auto store = c10::make_intrusive<c10d::TCPStore>(hostName, opts);
    auto pg = c10::make_intrusive<c10d::ProcessGroupNCCL>(store, rank, world, c10d::ProcessGroupNCCL::Options::create());
    return reinterpret_cast<jlong>(new Group(pg));
  } catch (const std::exception& e) {
    throwJava(env, e.what());
    return 0;
  }
}

// Sums the tensors over all ranks in place, through one flat buffer per dtype (one NCCL call, not one per tensor).
JNIEXPORT void JNICALL Java_org_sft4j_nd_Distributed_allReduceSum(JNIEnv* env, jclass, jlong pg, jlongArray handles) {
  try {
    c10::NoGradGuard noGrad;
    auto ts = tensors(env, handles);
    if (ts.empty()) return;
    std::vector<at::Tensor> flat;
    for (auto& t : ts) flat.push_back(t.reshape({-1}));
    std::vector<at::Tensor> buffer{at::cat(flat)};
    group(pg)->allreduce(buffer)->wait();
    int64_t offset = 0;
    for (auto& t : ts) {
      int64_t n = t.numel();
      t.copy_(buffer[0].narrow(0, offset, n).view(t.sizes()));
      offset += n;
    }
  } catch (const std::exception& e) {
    throwJava(env, e.what());
  }
}

JNIEXPORT void JNICALL Java_org_sft4j_nd_Distributed_broadcast(JNIEnv* env, jclass, jlong pg, jlongArray handles, jint root) {
  try {
    c10::NoGradGuard noGrad;
    for (auto& t : tensors(env, handles)) {
      std::vector<at::Tensor> one{t};
      c10d::BroadcastOptions o;
      o.rootRank = root;
      group(pg)->broadcast(one, o)->wait();
    }
  } catch (const std::exception& e) {
    throwJava(env, e.what());
  }
}

JNIEXPORT void JNICALL Java_org_sft4j_nd_Distributed_destroy(JNIEnv* env, jclass, jlong pg) {
  try {
    delete reinterpret_cast<Group*>(pg);
  } catch (const std::exception& e) {
    throwJava(env, e.what());
  }
}

}  // extern "C"
