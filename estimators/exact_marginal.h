#pragma once
// The exact log p(x), where a model allows it: its closed form (pPCA, a
// Gaussian mixture), or, for a finite latent space, the sum over every z of
// p(x, z), enumerated in chunks with a running log-sum-exp. The reference
// every sampling estimator is checked against.

#include <torch/types.h>

#include "models/latent_variable_model.h"

namespace dgm {

struct ExactMarginalOptions {
  /// Latent configurations evaluated at once when enumerating. Default: 4096.
  int64_t chunk = 4096;
};

/// True when exact_log_marginal can answer for this model.
bool has_exact_marginal(LatentVariableModel& model);

/// Exact log p(x_observed) per row of x [B, D], nats. A model with neither a
/// closed form nor a finite latent space is a dgm::Error.
torch::Tensor exact_log_marginal(LatentVariableModel& model, const torch::Tensor& x,
                                 const ExactMarginalOptions& options = {}, const torch::Tensor& mask = {});

}  // namespace dgm
