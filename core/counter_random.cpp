#include "core/counter_random.h"

#include <torch/torch.h>

#include <cmath>

#include "core/error.h"

namespace dgm {
namespace {

constexpr int64_t kLow32 = 0xFFFFFFFFLL;

/// (x * c) mod 2^32 for x in [0, 2^32) and a 32-bit constant c, in pieces
/// small enough for int64: x = hi * 2^16 + lo.
torch::Tensor multiply32(const torch::Tensor& x, int64_t c) {
  auto lo = x.bitwise_and(0xFFFF);
  auto hi = x.__rshift__(16);
  auto high_part = (hi * c).bitwise_and(0xFFFF).__lshift__(16);
  return (lo * c + high_part).bitwise_and(kLow32);
}

torch::Tensor xor_shift(const torch::Tensor& x, int64_t shift) { return x.bitwise_xor(x.__rshift__(shift)); }

/// hash32 of the low 32 bits of x, as int64 (for the seed's words).
int64_t hash32_scalar(int64_t x) { return hash32(static_cast<uint32_t>(x & kLow32)); }

/// (w + 1/2) / 2^32: strictly inside (0, 1), float64.
torch::Tensor to_unit_interval(const torch::Tensor& words) {
  return (words.to(torch::kFloat64) + 0.5) * (1.0 / 4294967296.0);
}

}  // namespace

torch::Tensor hash32(const torch::Tensor& values) {
  auto x = xor_shift(values, 16);
  x = multiply32(x, 0x7feb352dLL);
  x = xor_shift(x, 15);
  x = multiply32(x, 0x846ca68bLL);
  return xor_shift(x, 16);
}

uint32_t hash32(uint32_t x) {
  x ^= x >> 16;
  x *= 0x7feb352dU;
  x ^= x >> 15;
  x *= 0x846ca68bU;
  return x ^ (x >> 16);
}

CounterRandom::CounterRandom(uint64_t seed, const torch::Tensor& indices) {
  if (indices.scalar_type() != torch::kInt64) fail("CounterRandom: stream indices must be int64");
  const auto seed_low = static_cast<int64_t>(seed & 0xFFFFFFFFULL);
  const auto seed_high = static_cast<int64_t>(seed >> 32);
  // Two keys from two salted hashes of the seed, each mixed with the index twice.
  const int64_t salt_a = hash32_scalar(hash32_scalar(seed_low) ^ seed_high);
  const int64_t salt_b = hash32_scalar(hash32_scalar(seed_high ^ 0x5bd1e995LL) ^ seed_low);
  // Both halves of a 64-bit index, each in [0, 2^32).
  auto low = indices.bitwise_and(kLow32);
  auto high = indices.__rshift__(32).bitwise_and(kLow32);
  key_a_ = hash32(hash32(low.bitwise_xor(salt_a)).bitwise_xor(high).bitwise_xor(salt_b));
  key_b_ = hash32(hash32(low.bitwise_xor(salt_b)).bitwise_xor(hash32(high.bitwise_xor(salt_a))).bitwise_xor(key_a_));
}

torch::Tensor CounterRandom::words(int64_t counter, int64_t use, int64_t n) const {
  const auto options = key_a_.options();
  auto coordinates = torch::arange(n, options);
  // (counter, use, coordinate) -> one word, then mixed with the stream's two keys.
  const int64_t tag = hash32_scalar((counter * 4 + use) & kLow32);
  auto position = hash32(coordinates.bitwise_xor(tag));
  auto word = hash32(position.bitwise_xor(key_a_.unsqueeze(-1)));
  return hash32(word.bitwise_xor(key_b_.unsqueeze(-1)));
}

torch::Tensor CounterRandom::uniform(int64_t counter, int64_t n) const {
  return to_unit_interval(words(counter, 0, n));
}

torch::Tensor CounterRandom::normal(int64_t counter, int64_t n) const {
  auto radius = (-2.0 * to_unit_interval(words(counter, 1, n)).log()).sqrt();
  auto angle = to_unit_interval(words(counter, 2, n)) * (2.0 * M_PI);
  return radius * angle.cos();
}

}  // namespace dgm
