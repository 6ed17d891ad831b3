// PyTorch's profiler (Kineto: torch's operators on the CPU, and CUPTI's kernels on a GPU) around any stretch of
// sft4j's work, for the JVM: torch.profiler's C++ core, since neither nsys nor Python's profiler can see into a
// Java process's steps. stop() writes the Chrome trace torch.profiler would and returns a table of where the time went.
#include "handles.h"

#include <torch/csrc/autograd/profiler_kineto.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace {

using torch::profiler::impl::ActivityType;
using torch::profiler::impl::ProfilerConfig;
using torch::profiler::impl::ProfilerState;

void throwJava(JNIEnv* env, const std::string& what) { sft4j::throwJava(env, what, "sft4j profiler"); }

std::set<ActivityType> activities(bool gpu) {
  std::set<ActivityType> a{ActivityType::CPU};
  if (gpu) a.insert(ActivityType::CUDA);
  return a;
}

bool gpuActivities = false;

// Total time and count per name.
struct Tally {
  uint64_t ns = 0;
  int64_t calls = 0;
};

std::string table(const std::string& title, const std::map<std::string, Tally>& byName, int top) {
  std::vector<std::pair<std::string, Tally>> rows(byName.begin(), byName.end());
  std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a.second.ns > b.second.ns; });
  uint64_t total = 0;
  for (const auto& r : rows) total += r.second.ns;
  char line[512];
  std::snprintf(line, sizeof line, "%s (%.1f ms in all)\n", title.c_str(), total / 1e6);
  std::string out = line;
  for (int i = 0; i < int(rows.size()) && i < top; i++) {
    const auto& r = rows[i];
    std::string name = r.first.size() > 90 ? r.first.substr(0, 87) + "..." : r.first;
    std::snprintf(line, sizeof line, "%10.3f ms %5.1f%% %8lld  %s\n", r.second.ns / 1e6,
                  total == 0 ? 0.0 : 100.0 * r.second.ns / total, static_cast<long long>(r.second.calls), name.c_str());
    out += line;
  }
  return out;
}

// Operators that no other operator called (Java's calls and the autograd engine's nodes, each thread's outermost):
// what the host dispatches one by one, the cost a GPU waits on when a step is launch-bound.
int64_t outermostOperators(const std::vector<torch::autograd::profiler::KinetoEvent>& events) {
  std::vector<const torch::autograd::profiler::KinetoEvent*> cpu;
  for (const auto& e : events) {
    if (e.deviceType() == c10::DeviceType::CPU && !e.isAsync()) cpu.push_back(&e);
  }
  std::sort(cpu.begin(), cpu.end(), [](const auto* a, const auto* b) {
    if (a->startThreadId() != b->startThreadId()) return a->startThreadId() < b->startThreadId();
    return a->startNs() != b->startNs() ? a->startNs() < b->startNs() : a->endNs() > b->endNs();
  });
  int64_t count = 0;
  uint64_t thread = 0;
  uint64_t openUntil = 0;   // the end of the outermost operator still running on this thread
  for (const auto* e : cpu) {
    if (count == 0 || e->startThreadId() != thread || e->startNs() >= openUntil) {
      count++;
      thread = e->startThreadId();
      openUntil = e->endNs();
    }
  }
  return count;
}

}  // namespace

extern "C" {

// Starts recording: torch's operators on this thread, and with gpu the GPU's kernels and copies.
JNIEXPORT void JNICALL Java_org_sft4j_nd_Profiler_start(JNIEnv* env, jclass, jboolean gpu) {
  SFT4J_TRY
  ProfilerConfig config(ProfilerState::KINETO);
  gpuActivities = gpu;
  torch::autograd::profiler::prepareProfiler(config, activities(gpu));
  torch::autograd::profiler::enableProfiler(config, activities(gpu));
  SFT4J_CATCH()
}

// Stops recording; writes the Chrome trace to tracePath (unless empty) and returns the `top` names that took the
// most GPU time (kernels and copies) and the most CPU time (operators, inclusive of the operators they call).
JNIEXPORT jstring JNICALL Java_org_sft4j_nd_Profiler_stop(JNIEnv* env, jclass, jstring tracePath, jint top) {
  SFT4J_TRY
  std::unique_ptr<torch::autograd::profiler::ProfilerResult> result = torch::autograd::profiler::disableProfiler();
  std::string path = sft4j::utf8(env, tracePath);
  if (!path.empty()) result->save(path);
  std::map<std::string, Tally> device;
  std::map<std::string, Tally> host;
  int64_t kernels = 0;
  for (const auto& e : result->events()) {
    bool onHost = e.deviceType() == c10::DeviceType::CPU;
    auto& tally = (onHost ? host : device)[e.name()];
    tally.ns += e.durationNs();
    tally.calls++;
    kernels += onHost ? 0 : 1;
  }
  std::string out;
  if (gpuActivities) out += table("GPU time by kernel", device, top) + "\n";
  out += table("CPU time by operator (inclusive)", host, top);
  out += std::to_string(outermostOperators(result->events())) + " outermost operators (called by the host, not by "
         "another operator)" + (gpuActivities ? ", " + std::to_string(kernels) + " GPU kernels and copies" : "") + "\n";
  return env->NewStringUTF(out.c_str());
  SFT4J_CATCH(nullptr)
}

}  // extern "C"
