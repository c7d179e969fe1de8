#include "core/process_group.h"

#include <torch/torch.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <memory>

#include "core/error.h"

#ifdef DGM_HAVE_GLOO
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#endif
#ifdef DGM_HAVE_NCCL
#include <torch/version.h>
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

namespace dgm {
namespace {

std::optional<std::string> variable(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr) return std::nullopt;
  return std::string(value);
}

/// An integer variable in [low, high]; `fallback` when unset (or an error
/// naming the variable when there is none).
int integer_variable(const char* name, int low, int high, std::optional<int> fallback, const char* what) {
  auto text = variable(name);
  if (!text) {
    if (fallback) return *fallback;
    fail("{} is not set: dgm runs as several processes (WORLD_SIZE > 1) and needs {}; torchrun sets it", name, what);
  }
  errno = 0;
  char* end = nullptr;
  const long value = std::strtol(text->c_str(), &end, 10);
  if (text->empty() || *end != '\0' || errno != 0 || value < low || value > high)
    fail("{} = '{}' is not {} (an integer from {} to {})", name, *text, what, low, high);
  return static_cast<int>(value);
}

bool is_loopback(const std::string& host) { return host == "localhost" || host.rfind("127.", 0) == 0 || host == "::1"; }

#ifdef DGM_HAVE_GLOO
class C10dGroup final : public Collectives {
 public:
  explicit C10dGroup(const ProcessGroupEnvironment& env) : env_(env) {
    const auto timeout = std::chrono::milliseconds(int64_t{env.timeout_seconds} * 1000);
    c10::intrusive_ptr<c10d::Store> store;
    try {
      c10d::TCPStoreOptions options;
      options.port = static_cast<std::uint16_t>(env.master_port);
      options.isServer = !env.agent_store && env.rank == 0;
      options.numWorkers = env.agent_store ? c10::optional<std::size_t>() : c10::optional<std::size_t>(env.world_size);
      options.waitWorkers = !env.agent_store;
      options.timeout = timeout;
      store = c10::make_intrusive<c10d::TCPStore>(env.master_addr, options);
      // As torch.distributed's env:// rendezvous: under torchrun's agent the
      // keys of each restart attempt have their own prefix.
      if (env.agent_store)
        store = c10::make_intrusive<c10d::PrefixStore>("/worker/attempt_" + std::to_string(env.restart_count), store);
      store_ = c10::make_intrusive<c10d::PrefixStore>("dgm/", store);
      auto gloo = c10d::ProcessGroupGloo::Options::create();
      gloo->timeout = timeout;
      if (auto interface = variable("GLOO_SOCKET_IFNAME"))
        gloo->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(*interface));
      else if (is_loopback(env.master_addr))
        gloo->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
      else
        gloo->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
      group_ = c10::make_intrusive<c10d::ProcessGroupGloo>(store_, env.rank, env.world_size, gloo);
    } catch (const std::exception& e) {
      fail(
          "rank {} of {} could not join the process group at {}:{} (MASTER_ADDR, MASTER_PORT) within {} s: {}; "
          "check that every process was started with the same variables and that the port is free",
          env.rank, env.world_size, env.master_addr, env.master_port, env.timeout_seconds, first_line(e.what()));
    }
  }

  int rank() const override { return env_.rank; }
  int size() const override { return env_.world_size; }

  void all_reduce_sum(torch::Tensor& t) override {
    auto wire = on_the_wire(t);
    std::vector<at::Tensor> tensors{wire};
    run("a sum", [&] { backend_for(wire).allreduce(tensors)->wait(); });
    if (!wire.is_same(t)) t.copy_(wire);
  }

  void broadcast(torch::Tensor& t, int root) override {
    auto wire = on_the_wire(t);
    std::vector<at::Tensor> tensors{wire};
    c10d::BroadcastOptions options;
    options.rootRank = root;
    run("a broadcast", [&] { backend_for(wire).broadcast(tensors, options)->wait(); });
    if (!wire.is_same(t)) t.copy_(wire);
  }

  torch::Tensor all_gather(const torch::Tensor& t) override {
    auto wire = on_the_wire(t);
    std::vector<at::Tensor> inputs{wire};
    std::vector<std::vector<at::Tensor>> outputs(1);
    for (int r = 0; r < size(); ++r) outputs[0].push_back(torch::empty_like(wire));
    run("a gather", [&] { backend_for(wire).allgather(outputs, inputs)->wait(); });
    return torch::stack(outputs[0]).to(t.device());
  }

  void barrier() override {
    run("a barrier", [&] { group_->barrier()->wait(); });
  }

 private:
  /// Gloo moves contiguous CPU tensors; with NCCL, CUDA tensors stay where
  /// they are (contiguous).
  torch::Tensor on_the_wire(const torch::Tensor& t) {
#ifdef DGM_HAVE_NCCL
    if (t.is_cuda()) return t.is_contiguous() ? t : t.contiguous();
#endif
    return t.is_cpu() && t.is_contiguous() ? t : t.to(torch::kCPU).contiguous();
  }

  /// As torch.distributed's "cpu:gloo,cuda:nccl": CPU tensors go through
  /// Gloo and, where LibTorch has NCCL, CUDA tensors through NCCL, whose
  /// group is made at its first collective (the same one on every process)
  /// over the same store, its keys under their own prefix.
#ifdef DGM_HAVE_NCCL
#if TORCH_VERSION_MAJOR >= 2
  using Backend = c10d::Backend;
#else
  using Backend = c10d::ProcessGroup;
#endif
  template <typename Tensor>
  Backend& backend_for(const Tensor& wire) {
    if (!wire.is_cuda()) return *group_;
    if (!nccl_) {
      auto options = c10d::ProcessGroupNCCL::Options::create();
      options->timeout = std::chrono::milliseconds(int64_t{env_.timeout_seconds} * 1000);
      nccl_ = c10::make_intrusive<c10d::ProcessGroupNCCL>(c10::make_intrusive<c10d::PrefixStore>("nccl/", store_),
                                                          env_.rank, env_.world_size, options);
    }
    return *nccl_;
  }
#else
  template <typename Tensor>
  c10d::ProcessGroupGloo& backend_for(const Tensor&) {
    return *group_;
  }
#endif

  template <typename Collective>
  void run(const char* what, Collective&& collective) {
    try {
      collective();
    } catch (const std::exception& e) {
      fail(
          "rank {} of {}: {} over the process group failed: {}; another process of this run stopped (its own "
          "messages say why) or did not answer within {} s (DGM_PROCESS_GROUP_TIMEOUT)",
          env_.rank, env_.world_size, what, first_line(e.what()), env_.timeout_seconds);
    }
  }

  ProcessGroupEnvironment env_;
  c10::intrusive_ptr<c10d::Store> store_;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> group_;
#ifdef DGM_HAVE_NCCL
  c10::intrusive_ptr<c10d::ProcessGroupNCCL> nccl_;
#endif
};
#endif

Collectives* joined = nullptr;

}  // namespace

std::optional<ProcessGroupEnvironment> process_group_environment() {
  if (!variable("WORLD_SIZE")) return std::nullopt;
  ProcessGroupEnvironment env;
  env.world_size = integer_variable("WORLD_SIZE", 1, 1 << 16, std::nullopt, "a number of processes");
  if (env.world_size == 1) return std::nullopt;
  env.rank = integer_variable("RANK", 0, env.world_size - 1, std::nullopt, "this process's rank");
  env.local_rank =
      integer_variable("LOCAL_RANK", 0, env.world_size - 1, env.rank, "this process's rank on its machine");
  auto address = variable("MASTER_ADDR");
  if (!address || address->empty())
    fail(
        "MASTER_ADDR is not set: dgm runs as several processes (WORLD_SIZE = {}) and needs the address of rank 0; "
        "torchrun sets it",
        env.world_size);
  env.master_addr = *address;
  env.master_port = integer_variable("MASTER_PORT", 1, 65535, std::nullopt, "a TCP port");
  env.agent_store = variable("TORCHELASTIC_USE_AGENT_STORE").value_or("") == "True";
  env.restart_count = integer_variable("TORCHELASTIC_RESTART_COUNT", 0, 1 << 20, 0, "a restart count");
  env.timeout_seconds = integer_variable("DGM_PROCESS_GROUP_TIMEOUT", 1, 7 * 24 * 3600, 600, "a timeout in seconds");
  return env;
}

bool process_groups_available() {
#ifdef DGM_HAVE_GLOO
  return true;
#else
  return false;
#endif
}

bool nccl_available() {
#ifdef DGM_HAVE_NCCL
  return true;
#else
  return false;
#endif
}

Collectives& join_process_group() {
  if (joined != nullptr) return *joined;
  auto env = process_group_environment();
  if (!env) return single_process();
#ifdef DGM_HAVE_GLOO
  static std::unique_ptr<C10dGroup> group = std::make_unique<C10dGroup>(*env);
  joined = group.get();
  return *joined;
#else
  fail(
      "WORLD_SIZE = {}: this dgm was built without c10d's Gloo process group (install libgloo-dev and build "
      "again), so it runs as one process only",
      env->world_size);
#endif
}

Collectives& process_group() { return joined != nullptr ? *joined : single_process(); }

}  // namespace dgm
