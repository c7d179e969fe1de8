#pragma once
// Sampling-importance-resampling (Rubin 1987): draw k z from q(z | x), weight
// them by p(x, z) / q(z | x), and resample m of them in proportion to their
// weights. As k grows the resampled z follow the posterior p(z | x); with a
// mask, p(z | x_observed), which is how `dgm inpaint` completes hidden pixels.

#include <torch/types.h>

#include "estimators/proposal.h"
#include "models/latent_variable_model.h"

namespace dgm {

struct ResamplingOptions {
  /// Proposals drawn per example. Default: 1000.
  int64_t k = 1000;
  /// Draws kept per example. Default: 1.
  int64_t m = 1;
  /// Proposals weighed at once (0 = all k). Default: 250.
  int64_t chunk = 250;
  Proposal proposal = model_proposal();
};

/// m approximate posterior draws of z for each row of x [B, D]: [m, B, *latent].
torch::Tensor importance_resample(LatentVariableModel& model, const torch::Tensor& x,
                                  const ResamplingOptions& options = {}, const torch::Tensor& mask = {});

}  // namespace dgm
