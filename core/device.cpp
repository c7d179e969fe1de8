#include "core/device.h"

#include <malloc.h>
#include <torch/cuda.h>
#include <torch/utils.h>

#include "core/error.h"

namespace dgm {

torch::Device resolve_device(const std::string& name) {
  if (name == "auto") return torch::cuda::is_available() ? torch::Device(torch::kCUDA) : torch::Device(torch::kCPU);
  if (name == "cpu") return torch::Device(torch::kCPU);
  if (name == "cuda" || name.rfind("cuda:", 0) == 0) {
    if (!torch::cuda::is_available())
      fail("device '{}' asked for, but this LibTorch has no CUDA (or no GPU is visible); use --device cpu", name);
    int index = 0;
    if (name.size() > 5) {
      try {
        std::size_t used = 0;
        index = std::stoi(name.substr(5), &used);
        if (used != name.size() - 5) throw std::invalid_argument("trailing");
      } catch (const std::exception&) {
        fail("device '{}' is not valid: write cuda:N with N a GPU index", name);
      }
    }
    const int count = static_cast<int>(torch::cuda::device_count());
    if (index < 0 || index >= count) fail("device '{}' does not exist: {} CUDA device(s) visible", name, count);
    return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(index));
  }
  fail("unknown device '{}': use auto, cpu, cuda or cuda:N", name);
}

torch::Dtype to_dtype(Precision precision) {
  return precision == Precision::kFloat64 ? torch::kFloat64 : torch::kFloat32;
}

std::string device_name_problem(const std::string& name) {
  if (name == "auto" || name == "cpu" || name == "cuda") return "";
  if (name.rfind("cuda:", 0) == 0 && name.size() > 5 && name.find_first_not_of("0123456789", 5) == std::string::npos)
    return "";
  return "use auto, cpu, cuda or cuda:N";
}

void set_threads(int threads) {
  // Auto is one OpenMP thread: OpenBLAS already spreads each matrix product over
  // every core with threads of its own, and OpenMP workers spinning beside them
  // cut training throughput threefold (README, "Performance").
  torch::set_num_threads(threads <= 0 ? 1 : threads);
}

void keep_freed_memory() {
  mallopt(M_MMAP_THRESHOLD, 1 << 30);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
}

}  // namespace dgm
