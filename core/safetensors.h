#pragma once
// The safetensors format (huggingface.co/docs/safetensors), which Python users
// share weights in: an 8-byte little-endian header length, a JSON header
// mapping each tensor's name to its dtype, shape and byte range, then the raw
// little-endian data. The header is parsed with nlohmann-json.

#include <torch/types.h>

#include <map>
#include <string>
#include <vector>

namespace dgm {

using NamedTensors = std::vector<std::pair<std::string, torch::Tensor>>;

struct SafetensorsFile {
  std::map<std::string, torch::Tensor> tensors;  ///< CPU tensors
  std::map<std::string, std::string> metadata;   ///< the "__metadata__" strings
};

/// Reads a .safetensors file. A short file, a header past the end of the file,
/// malformed JSON, an unknown dtype, or a byte range that is out of bounds or
/// does not match the shape is a dgm::Error naming the file (and tensor).
SafetensorsFile read_safetensors(const std::string& path);

/// Writes tensors (any device; stored from the CPU, C order) and string
/// metadata, atomically.
void write_safetensors(const std::string& path, const NamedTensors& tensors,
                       const std::map<std::string, std::string>& metadata = {});

}  // namespace dgm
