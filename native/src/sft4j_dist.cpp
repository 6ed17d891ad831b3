// torch.distributed for sft4j: a c10d process group (NCCL for one process per GPU, Gloo for processes on CPU)
// joined through a TCPStore (rank 0 serves it); all-reduce / broadcast over DJL tensor handles, the asynchronous
// all-gather and reduce-scatter of sharded training, and the flat buffers it keeps parameters and gradients in. Built as
// its own library so the rest of the extension does not depend on NCCL headers (USE_C10D_NCCL where found).
#include "handles.h"
#include "pinned_host.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <c10/core/Event.h>
#include <c10/core/GradMode.h>
#include <c10/core/Stream.h>
#include <c10/core/StreamGuard.h>
#include <c10/core/impl/VirtualGuardImpl.h>
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
#include <map>
#include <memory>
#include <mutex>
#include <optional>
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

using sft4j::tensor;
using sft4j::tensors;
using sft4j::handle;
using Group = c10::intrusive_ptr<c10d::Backend>;

// A joined process group: its backend, the store it rendezvoused through, and where its collectives run.
struct Joined {
  Group pg;
  c10::intrusive_ptr<c10d::Store> store;
  int device;  // the GPU of an NCCL group, -1 for Gloo
};

Joined& joined(jlong h) { return *reinterpret_cast<Joined*>(h); }
Group& group(jlong h) { return joined(h).pg; }

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
  // shared_ptr up to torch 2.12, intrusive_ptr since: whatever grad_accumulator returns
  std::vector<decltype(torch::autograd::impl::grad_accumulator(std::declval<at::Tensor&>()))> accumulators_;
  std::vector<uintptr_t> hooks_;
  size_t next_ = 0;
  bool armed_ = false;
  std::mutex mu_;
};

Group nccl(const c10::intrusive_ptr<c10d::Store>& store, int rank, int world, int device, int timeoutSeconds) {
#ifdef USE_C10D_NCCL
  c10::cuda::set_device(static_cast<c10::DeviceIndex>(device));
  auto options = c10d::ProcessGroupNCCL::Options::create();
  options->timeout = std::chrono::seconds(timeoutSeconds);   // the watchdog ends a collective stuck this long
  return c10::make_intrusive<c10d::ProcessGroupNCCL>(store, rank, world, options);
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

// Collectives in flight (one or several c10d works) and the all-gather outputs whose autograd version counters are
// put back when they are joined: a gathered weight keeps the version its saved views in a graph were recorded at
// (the values are the same ones again), as FSDP's unsafe_preserve_version_counter does.
struct Pending {
  std::vector<c10::intrusive_ptr<c10d::Work>> works;
  std::vector<at::Tensor> outs;
  std::vector<int64_t> versions;
  std::vector<at::Tensor> ins;  // kept alive until joined
};

jlong pending(Pending* p) { return reinterpret_cast<jlong>(p); }

// A tensor's storage given back to its allocator (the tensor and its views keep their sizes and offsets), or
// allocated again; on a GPU both are ordered on the current stream by the caching allocator.
void releaseStorage(const at::Tensor& t) {
  c10::StorageImpl* s = t.storage().unsafeGetStorageImpl();
  s->set_data_ptr_noswap(at::DataPtr(nullptr, s->device()));
  s->set_nbytes(0);
}

void reserveStorage(const at::Tensor& t) {
  c10::StorageImpl* s = t.storage().unsafeGetStorageImpl();
  size_t bytes = (t.storage_offset() + t.numel()) * t.element_size();
  if (s->nbytes() >= bytes) return;
  TORCH_CHECK(s->allocator() != nullptr, "this tensor's storage cannot be allocated again");
  s->set_data_ptr_noswap(s->allocator()->allocate(bytes));
  s->set_nbytes(bytes);
}

}  // namespace

extern "C" {

JNIEXPORT jlong JNICALL Java_org_sft4j_nd_Distributed_init(JNIEnv* env, jclass, jstring host, jint port, jint rank,
                                                          jint world, jint device, jint timeoutSeconds) {
  SFT4J_TRY
  std::string hostName = sft4j::utf8(env, host);
  c10d::TCPStoreOptions opts;
  opts.port = static_cast<uint16_t>(port);
  opts.isServer = rank == 0;
  opts.numWorkers = world;
  opts.waitWorkers = true;
  opts.timeout = std::chrono::seconds(timeoutSeconds);
  auto store = c10::make_intrusive<c10d::TCPStore>(hostName, opts);
  Group pg = device >= 0 ? nccl(store, rank, world, device, timeoutSeconds) : gloo(store, rank, world, timeoutSeconds);
  return reinterpret_cast<jlong>(new Joined{pg, store, device});
  SFT4J_CATCH(0)
}

// Sums the tensors over all ranks in place, through one flat buffer per dtype (one NCCL call, not one per tensor).
JNIEXPORT void JNICALL Java_org_sft4j_nd_Distributed_allReduceSum(JNIEnv* env, jclass, jlong pg, jlongArray handles) {
  SFT4J_TRY
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
  SFT4J_CATCH()
}

JNIEXPORT void JNICALL Java_org_sft4j_nd_Distributed_broadcast(JNIEnv* env, jclass, jlong pg, jlongArray handles, jint root) {
  SFT4J_TRY
  c10::NoGradGuard noGrad;
  for (auto& t : tensors(env, handles)) {
    std::vector<at::Tensor> one{t};
    c10d::BroadcastOptions o;
    o.rootRank = root;
    group(pg)->broadcast(one, o)->wait();
  }
  SFT4J_CATCH()
}

JNIEXPORT jlong JNICALL Java_org_sft4j_nd_GradientBuckets_create(JNIEnv* env, jclass, jlong pg, jlongArray params,
                                                                  jlong bucketBytes, jintArray bucketCount) {
  SFT4J_TRY
  auto* r = new OverlappedReducer(group(pg), tensors(env, params), bucketBytes);
  jint n = static_cast<jint>(r->bucketCount());
  env->SetIntArrayRegion(bucketCount, 0, 1, &n);
  return reinterpret_cast<jlong>(r);
  SFT4J_CATCH(0)
}

JNIEXPORT void JNICALL Java_org_sft4j_nd_GradientBuckets_arm(JNIEnv* env, jclass, jlong r) {
  SFT4J_TRY
  reinterpret_cast<OverlappedReducer*>(r)->arm();
  SFT4J_CATCH()
}

JNIEXPORT void JNICALL Java_org_sft4j_nd_GradientBuckets_finish(JNIEnv* env, jclass, jlong r) {
  SFT4J_TRY
  reinterpret_cast<OverlappedReducer*>(r)->finish();
  SFT4J_CATCH()
}

JNIEXPORT void JNICALL Java_org_sft4j_nd_GradientBuckets_destroy(JNIEnv* env, jclass, jlong r) {
  SFT4J_TRY
  delete reinterpret_cast<OverlappedReducer*>(r);
  SFT4J_CATCH()
}

JNIEXPORT void JNICALL Java_org_sft4j_nd_Distributed_destroy(JNIEnv* env, jclass, jlong pg) {
  SFT4J_TRY
#ifdef USE_C10D_NCCL
  if (auto* n = dynamic_cast<c10d::ProcessGroupNCCL*>(group(pg).get())) n->shutdown();   // no exit-time warning
#endif
  delete &joined(pg);
  SFT4J_CATCH()
}

// ---- collectives of sharded training: all-gather into a tensor, reduce-scatter, barrier; asynchronous --------

// outs[k] (world * n, flat) <- every rank's ins[k] (n): one coalesced NCCL call, or one Gloo call per pair.
JNIEXPORT jlong JNICALL Java_org_sft4j_nd_Distributed_allGather(JNIEnv* env, jclass, jlong pg, jlongArray outs,
                                                               jlongArray ins) {
  SFT4J_TRY
  c10::NoGradGuard noGrad;
  auto* p = new Pending();
  p->outs = tensors(env, outs);
  p->ins = tensors(env, ins);
  for (auto& o : p->outs) p->versions.push_back(o._version());
  Joined& j = joined(pg);
  if (j.device >= 0 && p->outs.size() > 1) {
    p->works.push_back(j.pg->allgather_into_tensor_coalesced(p->outs, p->ins));
  } else {
    for (size_t k = 0; k < p->outs.size(); k++) p->works.push_back(j.pg->_allgather_base(p->outs[k], p->ins[k]));
  }
  return pending(p);
  SFT4J_CATCH(0)
}

// outs[k] (n) <- the sum over ranks of their slice [rank * n, (rank + 1) * n) of ins[k] (world * n).
JNIEXPORT jlong JNICALL Java_org_sft4j_nd_Distributed_reduceScatter(JNIEnv* env, jclass, jlong pg, jlongArray outs,
                                                                   jlongArray ins) {
  SFT4J_TRY
  c10::NoGradGuard noGrad;
  auto* p = new Pending();
  auto os = tensors(env, outs);
  p->ins = tensors(env, ins);
  Joined& j = joined(pg);
  c10d::ReduceScatterOptions sum;
  if (j.device >= 0 && os.size() > 1) {
    p->works.push_back(j.pg->reduce_scatter_tensor_coalesced(os, p->ins, sum));
  } else {
    for (size_t k = 0; k < os.size(); k++) p->works.push_back(j.pg->_reduce_scatter_base(os[k], p->ins[k], sum));
  }
  return pending(p);
  SFT4J_CATCH(0)
}

// Waits for the works (NCCL: the current stream waits; the host does not) and frees the handle.
JNIEXPORT void JNICALL Java_org_sft4j_nd_Distributed_joinPending(JNIEnv* env, jclass, jlong handle) {
  std::unique_ptr<Pending> p(reinterpret_cast<Pending*>(handle));
  SFT4J_TRY
  for (auto& w : p->works) w->wait();
  for (size_t k = 0; k < p->outs.size(); k++) {
    c10::VariableVersion counter = p->outs[k].unsafeGetTensorImpl()->version_counter();
    counter.set_version(p->versions[k]);
  }
  SFT4J_CATCH()
}

JNIEXPORT void JNICALL Java_org_sft4j_nd_Distributed_barrier(JNIEnv* env, jclass, jlong pg) {
  SFT4J_TRY
  Joined& j = joined(pg);
  c10d::BarrierOptions o;
  if (j.device >= 0) o.device_ids = {j.device};
  j.pg->barrier(o)->wait();
  SFT4J_CATCH()
}

// ---- the rendezvous store, for the ranks' heartbeats: a client connection of its own -------------------------

JNIEXPORT jlong JNICALL Java_org_sft4j_nd_RendezvousStore_connect(JNIEnv* env, jclass, jstring host, jint port,
                                                                 jint timeoutMillis) {
  SFT4J_TRY
  std::string hostName = sft4j::utf8(env, host);
  c10d::TCPStoreOptions opts;
  opts.port = static_cast<uint16_t>(port);
  opts.isServer = false;
  opts.waitWorkers = false;
  opts.timeout = std::chrono::milliseconds(timeoutMillis);
  return reinterpret_cast<jlong>(new c10::intrusive_ptr<c10d::Store>(c10::make_intrusive<c10d::TCPStore>(hostName, opts)));
  SFT4J_CATCH(0)
}

JNIEXPORT jlong JNICALL Java_org_sft4j_nd_RendezvousStore_add(JNIEnv* env, jclass, jlong store, jstring key, jlong delta) {
  SFT4J_TRY
  std::string name = sft4j::utf8(env, key);
  return (*reinterpret_cast<c10::intrusive_ptr<c10d::Store>*>(store))->add(name, delta);
  SFT4J_CATCH(0)
}

JNIEXPORT void JNICALL Java_org_sft4j_nd_RendezvousStore_set(JNIEnv* env, jclass, jlong store, jstring key,
                                                            jstring value) {
  SFT4J_TRY
  std::string name = sft4j::utf8(env, key);
  std::string text = sft4j::utf8(env, value);
  (*reinterpret_cast<c10::intrusive_ptr<c10d::Store>*>(store))->set(name, std::vector<uint8_t>(text.begin(), text.end()));
  SFT4J_CATCH()
}

// The value of a key, or null when it is not set (no waiting).
JNIEXPORT jstring JNICALL Java_org_sft4j_nd_RendezvousStore_get(JNIEnv* env, jclass, jlong store, jstring key) {
  SFT4J_TRY
  std::string name = sft4j::utf8(env, key);
  auto& st = *reinterpret_cast<c10::intrusive_ptr<c10d::Store>*>(store);
  if (!st->check({name})) return nullptr;
  auto bytes = st->get(name);
  return env->NewStringUTF(std::string(bytes.begin(), bytes.end()).c_str());
  SFT4J_CATCH(nullptr)
}

JNIEXPORT void JNICALL Java_org_sft4j_nd_RendezvousStore_close(JNIEnv* env, jclass, jlong store) {
  SFT4J_TRY
  delete reinterpret_cast<c10::intrusive_ptr<c10d::Store>*>(store);
  SFT4J_CATCH()
}

// ---- flat buffers of sharded parameters and gradients ---------------------------------------------------------

// out (flat) <- the gradients of params one after another, cast to out's dtype (zeros for a parameter without
// one and for the padding after the last); with clear, the parameters' gradients are dropped (memory freed).
JNIEXPORT void JNICALL Java_org_sft4j_nd_FlatBuffers_flattenGradients(JNIEnv* env, jclass, jlongArray params, jlong out,
                                                                      jboolean clear) {
  SFT4J_TRY
  c10::NoGradGuard noGrad;
  at::Tensor& o = tensor(out);
  int64_t offset = 0;
  for (auto& p : tensors(env, params)) {
    at::Tensor slot = o.narrow(0, offset, p.numel());
    if (p.grad().defined()) {
      slot.copy_(p.grad().reshape({-1}));
    } else {
      slot.zero_();
    }
    if (clear) p.mutable_grad().reset();
    offset += p.numel();
  }
  if (offset < o.numel()) o.narrow(0, offset, o.numel() - offset).zero_();
  SFT4J_CATCH()
}

JNIEXPORT void JNICALL Java_org_sft4j_nd_FlatBuffers_clearGradients(JNIEnv* env, jclass, jlongArray params) {
  SFT4J_TRY
  for (auto& p : tensors(env, params)) p.mutable_grad().reset();
  SFT4J_CATCH()
}

// param.grad += g (param.grad becomes g itself when it has none: g must not be used elsewhere).
JNIEXPORT void JNICALL Java_org_sft4j_nd_FlatBuffers_accumulateGradient(JNIEnv* env, jclass, jlong param, jlong g) {
  SFT4J_TRY
  c10::NoGradGuard noGrad;
  at::Tensor& p = tensor(param);
  if (p.grad().defined()) {
    p.mutable_grad().add_(tensor(g));
  } else {
    p.mutable_grad() = tensor(g);
  }
  SFT4J_CATCH()
}

// ---- optimizer offload: host copies of master shards, gradients brought over, working shards sent back ----------

// A copy of src in host memory: page-locked where a GPU is present (copies to and from it can be asynchronous).
JNIEXPORT jlong JNICALL Java_org_sft4j_nd_FlatBuffers_hostCopy(JNIEnv* env, jclass, jlong src) {
  SFT4J_TRY
  c10::NoGradGuard noGrad;
  const at::Tensor& s = tensor(src);
  at::Tensor out = sft4j::pinned::empty(s.sizes(), s.options());
  out.copy_(s);
  return handle(out);
  SFT4J_CATCH(0)
}

// The stream offloaded gradients travel to host memory on, one per GPU (from the pool, taken once): on the compute
// stream each copy would wait for the backward queued before it and hold up the backward queued after it.
static std::mutex copyStreamsLock;
static std::map<std::pair<int, int>, c10::Stream> copyStreams;

static std::pair<int, int> streamKey(const c10::Device& device) {
  return {static_cast<int>(device.type()), device.index()};
}

static c10::Stream copyStream(const c10::Device& device) {
  std::lock_guard<std::mutex> lock(copyStreamsLock);
  std::pair<int, int> key = streamKey(device);
  auto it = copyStreams.find(key);
  if (it == copyStreams.end()) {
    c10::impl::VirtualGuardImpl impl(device.type());
    it = copyStreams.emplace(key, impl.getStreamFromGlobalPool(device, false)).first;
  }
  return it->second;
}

// Waits until every gradient copy queued for device has arrived in host memory (nothing if none was).
static void awaitCopies(const c10::Device& device) {
  std::optional<c10::Stream> stream;
  {
    std::lock_guard<std::mutex> lock(copyStreamsLock);
    auto it = copyStreams.find(streamKey(device));
    if (it != copyStreams.end()) stream = it->second;
  }
  if (stream) stream->synchronize();
}

// param.grad (in host memory) receives g: overwritten (from a GPU into page-locked memory asynchronously, on the copy
// stream once g's producers on the compute stream are done: see awaitDevice) or added to (the earlier copies and g
// awaited first).
JNIEXPORT void JNICALL Java_org_sft4j_nd_FlatBuffers_gradientToHost(JNIEnv* env, jclass, jlong param, jlong g,
                                                                    jboolean overwrite) {
  SFT4J_TRY
  c10::NoGradGuard noGrad;
  at::Tensor& p = tensor(param);
  at::Tensor sum = tensor(g).reshape(p.sizes());
  if (!p.grad().defined()) {
    p.mutable_grad() = p.is_pinned() ? sft4j::pinned::empty(p.sizes(), p.options()) : at::empty(p.sizes(), p.options());
    overwrite = true;
  }
  if (sum.device().is_cpu()) {
    if (overwrite) {
      p.mutable_grad().copy_(sum);
    } else {
      p.mutable_grad().add_(sum);
    }
  } else if (overwrite) {
    c10::impl::VirtualGuardImpl impl(sum.device().type());
    c10::Stream side = copyStream(sum.device());
    c10::Event ready(sum.device().type());
    ready.record(impl.getStream(sum.device()));
    ready.block(side);
    {
      c10::StreamGuard onSide(side);
      p.mutable_grad().copy_(sum, /*non_blocking=*/p.is_pinned());
    }
    // g's memory goes back to the caching allocator when the caller frees it: not reused before this copy is done
    impl.recordDataPtrOnStream(sum.storage().data_ptr(), side);
  } else {
    awaitCopies(sum.device());
    p.mutable_grad().add_(sum.to(at::kCPU));
  }
  SFT4J_CATCH()
}

// dst (a device's working-type shard) takes src (a host master shard): copied over in src's type (asynchronously
// from page-locked memory), then cast on the device.
JNIEXPORT void JNICALL Java_org_sft4j_nd_FlatBuffers_upload(JNIEnv* env, jclass, jlong dst, jlong src) {
  SFT4J_TRY
  c10::NoGradGuard noGrad;
  at::Tensor& d = tensor(dst);
  d.copy_(tensor(src).to(d.device(), tensor(src).scalar_type(), /*non_blocking=*/true).reshape(d.sizes()));
  SFT4J_CATCH()
}

// Waits until the work queued on x's device (its current stream) and the gradient copies to host memory are done;
// nothing for a CPU tensor.
JNIEXPORT void JNICALL Java_org_sft4j_nd_FlatBuffers_awaitDevice(JNIEnv* env, jclass, jlong x) {
  SFT4J_TRY
  const at::Tensor& t = tensor(x);
  if (t.device().is_cpu()) return;
  c10::impl::VirtualGuardImpl impl(t.device().type());
  impl.getStream(t.device()).synchronize();
  awaitCopies(t.device());
  SFT4J_CATCH()
}

// The squared 2-norm of x as an fp32 scalar on x's device (an offloaded gradient's, taken before it leaves).
JNIEXPORT jlong JNICALL Java_org_sft4j_nd_FlatBuffers_squaredNorm(JNIEnv* env, jclass, jlong x) {
  SFT4J_TRY
  c10::NoGradGuard noGrad;
  return handle(at::linalg_vector_norm(tensor(x).reshape({-1}), 2, std::nullopt, false, at::kFloat).square());
  SFT4J_CATCH(0)
}

// The threads PyTorch's CPU operators use (the offloaded AdamW runs on them).
JNIEXPORT jint JNICALL Java_org_sft4j_nd_FlatBuffers_numHostThreads(JNIEnv* env, jclass) {
  return at::get_num_threads();
}

// dst.copy_(src) as a collective writes its output: the autograd version stays (see Pending).
JNIEXPORT void JNICALL Java_org_sft4j_nd_FlatBuffers_overwrite(JNIEnv* env, jclass, jlong dst, jlong src) {
  SFT4J_TRY
  c10::NoGradGuard noGrad;
  at::Tensor& d = tensor(dst);
  int64_t version = d._version();
  d.copy_(tensor(src).reshape(d.sizes()));
  c10::VariableVersion counter = d.unsafeGetTensorImpl()->version_counter();
  counter.set_version(version);
  SFT4J_CATCH()
}

JNIEXPORT void JNICALL Java_org_sft4j_nd_FlatBuffers_release(JNIEnv* env, jclass, jlong t) {
  SFT4J_TRY
  releaseStorage(tensor(t));
  SFT4J_CATCH()
}

JNIEXPORT void JNICALL Java_org_sft4j_nd_FlatBuffers_reserve(JNIEnv* env, jclass, jlong t) {
  SFT4J_TRY
  reserveStorage(tensor(t));
  SFT4J_CATCH()
}

JNIEXPORT jlong JNICALL Java_org_sft4j_nd_FlatBuffers_storageBytes(JNIEnv* env, jclass, jlong t) {
  SFT4J_TRY
  return static_cast<jlong>(tensor(t).storage().nbytes());
  SFT4J_CATCH(0)
}

}  // extern "C"
