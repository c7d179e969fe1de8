#pragma once
// NumPy's .npy format (numpy.org/doc/stable/reference/generated/numpy.lib.format.html),
// versions 1 to 3, little-endian float32, float64, uint8 (and int64 for labels), C order.

#include <torch/types.h>

#include <string>

namespace dgm {

/// Reads a .npy file into a CPU tensor of its dtype and shape. A bad magic
/// string, an unsupported dtype, Fortran order, or a payload that is shorter or
/// longer than the header says is a dgm::Error naming the file.
torch::Tensor read_npy(const std::string& path);

/// Writes a float32, float64, uint8 or int64 CPU tensor as .npy (version 1),
/// atomically.
void write_npy(const std::string& path, const torch::Tensor& data);

}  // namespace dgm
