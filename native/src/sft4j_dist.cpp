// torch.distributed for sft4j: a c10d process group (NCCL for one process per GPU, Gloo for processes on CPU)
// joined through a TCPStore (rank 0 serves it), and all-reduce / broadcast over DJL tensor handles. Built as
// its own library so the rest of the extension does not depend on NCCL headers (USE_C10D_NCCL where found).
#include "handles.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>
#include <torch/csrc/distributed/c10d/Backend.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#ifdef USE_C10D_NCCL
#include <c10/cuda/CUDAFunctions.h>
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include <torch/csrc/autograd/function.h>
#include <torch/csrc/autograd/function_hook.h>
#include <torch/csrc/autograd/variable.h>

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#ifdef SFT4J_GLOO
namespace c10d {
// pip's torch ships ProcessGroupGloo.hpp but not the Gloo headers it includes, so the two exported functions
// torch.distributed's Python uses to make a Gloo group are declared here: Options::create_default (which picks
// the network devices) and the constructor. The object is built in a buffer larger than the real class (whose
// layout stays libtorch's) and used through Backend, its first and only base.
struct ProcessGroupGloo {
  struct Options : c10::intrusive_ptr_target {
    static c10::intrusive_ptr<Options> create_default(std::chrono::milliseconds timeout);
  };
  ProcessGroupGloo(const c10::intrusive_ptr<Store>& store, int rank, int size, c10::intrusive_ptr<Options> options);
  alignas(64) unsigned char storage[1 << 16];
};
}  // namespace c10d
#endif

namespace {

using sft4j::tensors;
using Group = c10::intrusive_ptr<c10d::Backend>;

Group& group(jlong h) { return *reinterpret_cast<Group*>(h); }

void throwJava(JNIEnv* env, const std::string& what) { sft4j::throwJava(env, what, "sft4j distributed"); }

// Runs a callback after an autograd node (here: a parameter's gradient accumulator) has run.
class AfterNode : public torch::autograd::FunctionPostHook {
 public:
  explicit AfterNode(std::function<void()> fn) : fn_(std::move(fn)) {}
  torch::autograd::variable_list operator()(const torch::autograd::variable_list& outputs,
                                            const torch::autograd::variable_list& /*inputs*/) override {
    fn_();
    return outputs;
  }

 private:
  std::function<void()> fn_;
};

// Gradients all-reduced in buckets while backward still runs, as DDP's Reducer does. Every parameter's .grad
// is a view of a flat bucket, so autograd accumulates straight into it (no copies in or out); a post-hook on
// the parameter's gradient accumulator counts its bucket down, and buckets whose gradients are final are
// all-reduced at once, strictly in bucket order, so every rank issues the same collectives in the same order.
// Buckets follow the reverse of the parameters' order: the last layers' gradients are ready first.
class OverlappedReducer {
 public:
  OverlappedReducer(Group pg, std::vector<at::Tensor> params, int64_t bucketBytes)
      : pg_(std::move(pg)), params_(std::move(params)), bucketOf_(params_.size()), marked_(params_.size(), false) {
    c10::NoGradGuard noGrad;
    for (size_t k = params_.size(); k-- > 0;) {
      const at::Tensor& p = params_[k];
      bool fresh = buckets_.empty() || buckets_.back().bytes + p.nbytes() > static_cast<size_t>(bucketBytes) ||
                   buckets_.back().type != p.scalar_type();
      if (fresh) buckets_.push_back(Bucket{p.scalar_type(), 0, 0, {}, {}, 0, {}});
      Bucket& b = buckets_.back();
      b.members.push_back(k);
      b.bytes += p.nbytes();
      b.numel += p.numel();
      bucketOf_[k] = buckets_.size() - 1;
    }
    for (Bucket& b : buckets_) {
      b.flat = at::zeros({b.numel}, params_[b.members[0]].options());
      int64_t offset = 0;
      for (size_t k : b.members) {
        at::Tensor& p = params_[k];
        at::Tensor view = b.flat.narrow(0, offset, p.numel()).view(p.sizes());
        if (p.grad().defined()) view.copy_(p.grad());
        p.mutable_grad() = view;
        offset += p.numel();
      }
    }
    for (size_t k = 0; k < params_.size(); k++) {
      auto acc = torch::autograd::impl::grad_accumulator(params_[k]);
      TORCH_CHECK(acc, "parameter ", k, " does not require a gradient or is not a leaf");
      hooks_.push_back(acc->add_post_hook(std::make_unique<AfterNode>([this, k] { ready(k); })));
      accumulators_.push_back(std::move(acc));   // the tensor only holds a weak reference to it
    }
  }

  ~OverlappedReducer() {
    for (size_t k = 0; k < accumulators_.size(); k++) accumulators_[k]->del_post_hook(hooks_[k]);
  }

  size_t bucketCount() const { return buckets_.size(); }

  // The next backward produces final gradients: reduce each bucket as soon as it is complete.
  void arm() {
    std::lock_guard<std::mutex> lock(mu_);
    std::fill(marked_.begin(), marked_.end(), false);
    for (Bucket& b : buckets_) {
      b.pending = b.members.size();
      b.work.reset();
    }
    next_ = 0;
    armed_ = true;
  }

  // Reduces the buckets backward did not complete (parameters it did not reach keep what they accumulated),
  // then makes the caller's CUDA stream wait for every reduction; the host does not block.
  void finish() {
    std::lock_guard<std::mutex> lock(mu_);
    TORCH_CHECK(armed_, "finish() without arm()");
    for (Bucket& b : buckets_) b.pending = 0;
    launchReady();
    for (Bucket& b : buckets_) b.work->wait();
    armed_ = false;
  }

 private:
  struct Bucket {
    at::ScalarType type;
    size_t bytes;
    int64_t numel;
    std::vector<size_t> members;
    at::Tensor flat;
    size_t pending;
    c10::intrusive_ptr<c10d::Work> work;
  };

  // Called on autograd's thread once parameter k's gradient is accumulated.
  void ready(size_t k) {
    std::lock_guard<std::mutex> lock(mu_);
    if (!armed_ || marked_[k]) return;
    marked_[k] = true;
    Bucket& b = buckets_[bucketOf_[k]];
    if (b.pending > 0 && --b.pending == 0) launchReady();
  }

  void launchReady() {
    while (next_ < buckets_.size() && buckets_[next_].pending == 0) {
      std::vector<at::Tensor> one{buckets_[next_].flat};
      buckets_[next_].work = pg_->allreduce(one);
      next_++;
    }
  }

  Group pg_;
  std::vector<at::Tensor> params_;
  std::vector<size_t> bucketOf_;
  std::vector<bool> marked_;
  std::vector<Bucket> buckets_;
  // grad_accumulator's pointer type (shared_ptr up to PyTorch 2.12, intrusive_ptr since)
  std::vector<decltype(torch::autograd::impl::grad_accumulator(std::declval<at::Tensor&>()))> accumulators_;
  std::vector<uintptr_t> hooks_;
  size_t next_ = 0;
  bool armed_ = false;
  std::mutex mu_;
};

Group nccl(const c10::intrusive_ptr<c10d::Store>& store, int rank, int world, int device) {
#ifdef USE_C10D_NCCL
  c10::cuda::set_device(static_cast<c10::DeviceIndex>(device));
  return c10::make_intrusive<c10d::ProcessGroupNCCL>(store, rank, world, c10d::ProcessGroupNCCL::Options::create());
#else
  TORCH_CHECK(false, "this libsft4j_dist.so was built without NCCL (no CUDA or NCCL headers): GPU ranks cannot join");
  return Group();
#endif
}

// Gloo over TCP, set up as torch.distributed's Python sets it up (tested on one host, over loopback).
Group gloo(const c10::intrusive_ptr<c10d::Store>& store, int rank, int world, int timeoutSeconds) {
#ifdef SFT4J_GLOO
  auto options = c10d::ProcessGroupGloo::Options::create_default(std::chrono::seconds(timeoutSeconds));
  auto* pg = new c10d::ProcessGroupGloo(store, rank, world, options);
  return Group::unsafe_steal_from_new(reinterpret_cast<c10d::Backend*>(pg));
#else
  TORCH_CHECK(false, "this libsft4j_dist.so was built without Gloo: CPU ranks cannot join");
  return Group();
#endif
}

}  // namespace

extern "C" {

JNIEXPORT jlong JNICALL Java_org_sft4j_nd_Distributed_init(JNIEnv* env, jclass, jstring host, jint port, jint rank,
                                                          jint world, jint device, jint timeoutSeconds) {
  try {
    const char* h = env->GetStringUTFChars(host, nullptr);
    std::string hostName(h);
    env->ReleaseStringUTFChars(host, h);
    c10d::TCPStoreOptions opts;
    opts.port = static_cast<uint16_t>(port);
    opts.isServer = rank == 0;
    opts.numWorkers = world;
    opts.waitWorkers = true;
    opts.timeout = std::chrono::seconds(timeoutSeconds);
    auto store = c10::make_intrusive<c10d::TCPStore>(hostName, opts);
    return reinterpret_cast<jlong>(new Group(device >= 0 ? nccl(store, rank, world, device) : gloo(store, rank, world, timeoutSeconds)));
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

JNIEXPORT jlong JNICALL Java_org_sft4j_nd_GradientBuckets_create(JNIEnv* env, jclass, jlong pg, jlongArray params,
                                                                  jlong bucketBytes, jintArray bucketCount) {
  try {
    auto* r = new OverlappedReducer(group(pg), tensors(env, params), bucketBytes);
    jint n = static_cast<jint>(r->bucketCount());
    env->SetIntArrayRegion(bucketCount, 0, 1, &n);
    return reinterpret_cast<jlong>(r);
  } catch (const std::exception& e) {
    throwJava(env, e.what());
    return 0;
  }
}

JNIEXPORT void JNICALL Java_org_sft4j_nd_GradientBuckets_arm(JNIEnv* env, jclass, jlong r) {
  try {
    reinterpret_cast<OverlappedReducer*>(r)->arm();
  } catch (const std::exception& e) {
    throwJava(env, e.what());
  }
}

JNIEXPORT void JNICALL Java_org_sft4j_nd_GradientBuckets_finish(JNIEnv* env, jclass, jlong r) {
  try {
    reinterpret_cast<OverlappedReducer*>(r)->finish();
  } catch (const std::exception& e) {
    throwJava(env, e.what());
  }
}

JNIEXPORT void JNICALL Java_org_sft4j_nd_GradientBuckets_destroy(JNIEnv* env, jclass, jlong r) {
  try {
    delete reinterpret_cast<OverlappedReducer*>(r);
  } catch (const std::exception& e) {
    throwJava(env, e.what());
  }
}

JNIEXPORT void JNICALL Java_org_sft4j_nd_Distributed_destroy(JNIEnv* env, jclass, jlong pg) {
  try {
#ifdef USE_C10D_NCCL
    if (auto* n = dynamic_cast<c10d::ProcessGroupNCCL*>(group(pg).get())) n->shutdown();   // no exit-time warning
#endif
    delete reinterpret_cast<Group*>(pg);
  } catch (const std::exception& e) {
    throwJava(env, e.what());
  }
}

}  // extern "C"
