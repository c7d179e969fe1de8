#pragma once
// Importance sampling of the marginal likelihood:
//   p(x) = E_{z~q}[ p(x, z) / q(z | x) ],  p_hat = (1/k) sum_i w_i,
// unbiased for p(x) for any q whose support covers the posterior's; its
// variance, and so the effective sample size, depend on how close q is to
// p(z | x) (with the exact posterior every w_i equals p(x)). log p_hat is
// biased low (Jensen); that bias is what the IWAE bound (iwae_bound.h) turns
// into a training objective. Cf. Pyro's `Importance`, and Burda et al. 2015.

#include <torch/types.h>

#include "estimators/estimator_options.h"
#include "estimators/weight_statistics.h"
#include "models/latent_variable_model.h"

namespace dgm {

/// Importance sampling estimate of p(x_observed) for each row of x [B, D]. No
/// gradients. Reads options.k, chunk and proposal. k <= 0, or a mask of
/// another shape than x, is a dgm::Error.
ImportanceEstimate importance_sampling(LatentVariableModel& model, const torch::Tensor& x,
                                       const EstimatorOptions& options = {}, const torch::Tensor& mask = {});

}  // namespace dgm
