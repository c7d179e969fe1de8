#pragma once
// The checks every estimator makes of what it is given, before any work: a
// sample count, the data's shape and the mask's, and the log-weights it
// computes. Each failure is a dgm::Error that names the estimator and the
// value.

#include <torch/types.h>

#include <cstdint>

namespace dgm {

/// k >= 1, x [B, D], and a mask (when defined) of x's shape.
void check_estimator_input(const torch::Tensor& x, int64_t k, const torch::Tensor& mask, const char* estimator);

/// Log-weights [S, B] without NaN or +inf: either means the proposal puts
/// mass where the model has none, or a density is broken; the error names
/// the example, the sample and the value.
void check_log_weights(const torch::Tensor& log_weights, const char* estimator);

}  // namespace dgm
