#pragma once
// Random numbers that are a pure function of a stream key, a counter and a
// coordinate (a counter-based generator, like Philox; Salmon et al. 2011):
// the draw of (chain i, example b, transition t, coordinate d) does not depend
// on which other chains or examples are computed in the same call, so AIS can
// split its chains and examples into chunks of any size without changing a
// result (estimators/ais.h). Built from tensor operations on int64 values
// below 2^32 (no overflow anywhere), so it runs as a few kernels on any device.

#include <torch/types.h>

#include <cstdint>

namespace dgm {

/// The "lowbias32" integer hash (Wellons 2018) of each value of an int64
/// tensor holding values in [0, 2^32): same shape, values in [0, 2^32).
torch::Tensor hash32(const torch::Tensor& values);
/// The same hash of one 32-bit value, in plain integer arithmetic.
uint32_t hash32(uint32_t value);

/// Independent streams of uniform and normal numbers, one per entry of a batch.
class CounterRandom {
 public:
  /// One stream per entry of `indices` (int64 [*batch], each at least 0) of
  /// the streams that `seed` names: the stream of index i is the same in
  /// every CounterRandom of the same seed.
  CounterRandom(uint64_t seed, const torch::Tensor& indices);
  /// Uniform on (0, 1), float64 [*batch, n]: draw `counter` of each stream,
  /// coordinates 0..n-1. Another counter, or normal() of the same counter,
  /// gives independent numbers.
  torch::Tensor uniform(int64_t counter, int64_t n) const;
  /// Standard normal, float64 [*batch, n] (Box-Muller on two uniforms; the
  /// tails are cut at 6.7 standard deviations by the 32-bit uniforms).
  torch::Tensor normal(int64_t counter, int64_t n) const;

 private:
  /// Hashed 32-bit words [*batch, n] of (counter, use, coordinate); use 0
  /// for uniform(), 1 and 2 for normal().
  torch::Tensor words(int64_t counter, int64_t use, int64_t n) const;
  torch::Tensor key_a_, key_b_;  ///< two independent 32-bit keys per stream: collisions need 64 bits to agree
};

}  // namespace dgm
