#pragma once
// Where tensors live: "auto" (CUDA when LibTorch has it, else CPU), "cpu",
// "cuda" or "cuda:N".

#include <torch/types.h>

#include <string>

namespace dgm {

/// Parses a device name; an unknown name, or CUDA on a LibTorch without it, is a
/// dgm::Error that says which names are valid.
torch::Device resolve_device(const std::string& name);

/// Parses "float32" or "float64".
torch::Dtype resolve_dtype(const std::string& name);

/// Sets LibTorch's intra-op (OpenMP) threads; 0 = auto, which is 1 because
/// OpenBLAS runs its own threads for the matrix products.
void set_threads(int threads);

/// Keeps freed large CPU buffers in the heap instead of returning them to the
/// system: estimators allocate and free tensors of tens of MB per chunk, and
/// glibc's default mmap/munmap of each one doubled evaluation time (measured).
void keep_freed_memory();

}  // namespace dgm
