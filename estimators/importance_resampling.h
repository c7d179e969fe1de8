#pragma once
// Sampling-importance-resampling (Rubin 1987): draw k z from q(z | x), weight
// them by p(x, z) / q(z | x), and resample m of them in proportion to their
// weights. As k grows the resampled z follow the posterior p(z | x); with a
// mask, p(z | x_observed), which is how `dgm inpaint` completes hidden pixels.

#include <torch/types.h>

#include "estimators/estimator_options.h"
#include "models/latent_variable_model.h"

namespace dgm {

/// m approximate posterior draws of z for each row of x [B, D]: [m, B, *latent],
/// resampled from options.k proposals (drawn options.chunk at a time from
/// options.proposal). m < 1 or k < 1 is a dgm::Error.
torch::Tensor importance_resample(LatentVariableModel& model, const torch::Tensor& x, const EstimatorOptions& options,
                                  int64_t m, const torch::Tensor& mask = {});

}  // namespace dgm
