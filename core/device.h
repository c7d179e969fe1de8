#pragma once
// Where tensors live and in what precision: "auto" (CUDA when LibTorch has
// it, else CPU), "cpu", "cuda" or "cuda:N"; float32 or float64; and
// LibTorch's CPU threads. The train.device, train.dtype and train.threads
// options of a config.

#include <torch/types.h>

#include <string>

#include "core/options.h"

namespace dgm {

enum class Precision { kFloat32, kFloat64 };
DGM_ENUM_NAMES(Precision, "dtype", {Precision::kFloat32, "float32"}, {Precision::kFloat64, "float64"});

/// "" when `name` is written as a device (auto, cpu, cuda, cuda:N), else why not.
std::string device_name_problem(const std::string& name);

// clang-format off
#define DGM_RUNTIME_OPTIONS(X)                                                                                 \
  X(std::string, device, "auto", "auto (CUDA when available), cpu, cuda or cuda:N",                           \
    checked_by(device_name_problem, "auto, cpu, cuda or cuda:N"))                                              \
  X(Precision, dtype, Precision::kFloat32, "float32 or float64 for parameters and data", any_value())         \
  X(int64_t, threads, 0, "LibTorch intra-op CPU threads (0 = auto: 1, as OpenBLAS threads the matrix products)", \
    between(0, 4096))
// clang-format on

/// Where and how precisely a model computes.
struct RuntimeOptions {
  DGM_RUNTIME_OPTIONS(DGM_OPTION_MEMBER)
};
DGM_OPTION_TABLE(RuntimeOptions, DGM_RUNTIME_OPTIONS)

/// Parses a device name; an unknown name, or CUDA on a LibTorch without it, is a
/// dgm::Error that says which names are valid.
torch::Device resolve_device(const std::string& name);

/// The LibTorch dtype of a precision.
torch::Dtype to_dtype(Precision precision);

/// Sets LibTorch's intra-op (OpenMP) threads; 0 = auto, which is 1 because
/// OpenBLAS runs its own threads for the matrix products.
void set_threads(int threads);

/// Keeps freed large CPU buffers in the heap instead of returning them to the
/// system: estimators allocate and free tensors of tens of MB per chunk, and
/// glibc's default mmap/munmap of each one doubled evaluation time (see the
/// README's "Performance").
void keep_freed_memory();

}  // namespace dgm
