#pragma once
// One seed fixes every draw. Training reseeds LibTorch's generators from
// (seed, step) before each step, so a resumed run draws exactly what an
// uninterrupted one would, without saving generator state.

#include <cstdint>

namespace dgm {

/// Seeds LibTorch's CPU and CUDA default generators.
void seed_everything(std::uint64_t seed);

/// A well-mixed 64-bit seed for stream `stream` (a step, an epoch) of `seed`.
std::uint64_t derive_seed(std::uint64_t seed, std::uint64_t stream);

}  // namespace dgm
