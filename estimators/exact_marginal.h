#pragma once
// The exact log p(x), where a model allows it: its closed form (pPCA, a
// Gaussian mixture), or, for a finite latent space, the sum over every z of
// p(x, z), enumerated in chunks with a running log-sum-exp. The reference
// every sampling estimator is checked against.

#include <torch/types.h>

#include "estimators/estimator_options.h"
#include "models/latent_variable_model.h"

namespace dgm {

/// True when exact_log_marginal can answer for this model.
bool has_exact_marginal(LatentVariableModel& model);

/// Latent configurations enumerated at once when options.chunk is 0.
inline constexpr int64_t kEnumerationChunk = 4096;

/// Exact log p(x_observed) per row of x [B, D], nats. Reads options.chunk
/// (configurations per step of an enumeration; 0 = kEnumerationChunk). A
/// model with neither a closed form nor a finite latent space is a dgm::Error.
torch::Tensor exact_log_marginal(LatentVariableModel& model, const torch::Tensor& x,
                                 const EstimatorOptions& options = {}, const torch::Tensor& mask = {});

}  // namespace dgm
