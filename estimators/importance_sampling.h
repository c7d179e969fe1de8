#pragma once
// Importance sampling of the marginal likelihood:
//   p(x) = E_{z~q}[ p(x, z) / q(z | x) ],  p_hat = (1/k) sum_i w_i,
// unbiased for p(x) for any q whose support covers the posterior's; its
// variance, and so the effective sample size, depend on how close q is to
// p(z | x) (with the exact posterior every w_i equals p(x)). log p_hat is
// biased low (Jensen); that bias is what the IWAE bound (iwae_bound.h) turns
// into a training objective. Cf. Pyro's `Importance`, and Burda et al. 2015.

#include <torch/types.h>

#include "estimators/proposal.h"
#include "estimators/weight_statistics.h"
#include "models/latent_variable_model.h"

namespace dgm {

struct ImportanceSamplingOptions {
  /// Samples per example. Default: 1000.
  int64_t k = 1000;
  /// Samples drawn at once (0 = all k); memory grows with chunk x B x D. Default: 0.
  int64_t chunk = 0;
  /// Where z comes from. Default: the model's own proposal.
  Proposal proposal = model_proposal();
};

/// Importance sampling estimate of p(x_observed) for each row of x [B, D]. No
/// gradients. k <= 0, or a mask of another shape than x, is a dgm::Error.
ImportanceEstimate importance_sampling(LatentVariableModel& model, const torch::Tensor& x,
                                       const ImportanceSamplingOptions& options = {}, const torch::Tensor& mask = {});

/// Checks k and the mask's shape for the estimators: a dgm::Error names the value.
void check_estimator_input(const torch::Tensor& x, int64_t k, const torch::Tensor& mask, const char* estimator);

}  // namespace dgm
