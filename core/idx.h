#pragma once
// The IDX format of MNIST and Fashion-MNIST (yann.lecun.com/exdb/mnist):
// two zero bytes, a type byte, a dimension count, big-endian int32 sizes, then
// the data in C order, big-endian. Files may be gzip-compressed or raw.

#include <torch/types.h>

#include <string>

namespace dgm {

/// Reads an IDX file (gzip or raw) into a CPU tensor of the stored type
/// (uint8, int8, int16, int32, float32, float64) and the stored shape. Bad
/// magic, an unknown type, absurd sizes, a truncated or overlong payload, or a
/// corrupt gzip stream is a dgm::Error naming the file. Memory is bounded by
/// the header: sizes are checked against the file (and, compressed, against
/// what deflate can hold) before the allocation, and the stream is read in
/// pieces, so a small .gz that inflates to gigabytes is refused early.
torch::Tensor read_idx(const std::string& path);

/// Writes a uint8 tensor as a raw (uncompressed) IDX file: for tests and for
/// users who convert their own data.
void write_idx(const std::string& path, const torch::Tensor& data);

}  // namespace dgm
