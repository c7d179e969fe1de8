#pragma once
// NumPy's .npy format (numpy.org/doc/stable/reference/generated/numpy.lib.format.html),
// versions 1 to 3, little-endian float32, float64, uint8 (and int64 for labels), C order.

#include <torch/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace dgm {

/// The most dimensions and header bytes dgm reads (NumPy: 64 dimensions;
/// np.save writes headers of a few hundred bytes).
constexpr std::size_t kNpyMaxDims = 64;
constexpr uint64_t kNpyMaxHeader = 65536;

/// What a .npy header says.
struct NpyHeader {
  torch::Dtype dtype = torch::kFloat32;
  std::size_t item_bytes = 4;
  bool fortran_order = false;
  std::vector<int64_t> shape;
  uint64_t count = 1;  ///< entries: the product of the shape, at most 2^40
};

/// Parses the header's dict literal ({'descr': ..., 'fortran_order': ...,
/// 'shape': (...), }) by hand, in time linear in its length. Anything else —
/// a missing, unknown or repeated key, a negative or huge dimension, a dtype
/// dgm does not read — is a dgm::Error naming `path`.
NpyHeader parse_npy_header(const std::string& header, const std::string& path);

/// Reads a .npy file into a CPU tensor of its dtype and shape. A bad magic
/// string, an unsupported dtype, Fortran order, or a payload that is shorter or
/// longer than the header says is a dgm::Error naming the file, found from
/// the header and the file's size before anything is allocated or read.
torch::Tensor read_npy(const std::string& path);

/// The bytes of a .npy file (a record of an .npz archive) as a CPU tensor,
/// with read_npy's checks; `name` names it in errors.
torch::Tensor parse_npy(const std::string& bytes, const std::string& name);

/// Writes a float32, float64, uint8 or int64 CPU tensor as .npy (version 1),
/// atomically.
void write_npy(const std::string& path, const torch::Tensor& data);

}  // namespace dgm
