#pragma once
// Naive Monte Carlo estimate of the marginal likelihood: z drawn blind of x,
//   finite latent space:      p(x) = |Z| E_{z ~ Uniform(Z)}[ p(x, z) ],
//   continuous latent space:  p(x) = E_{z ~ p(z)}[ p(x | z) ].
// Unbiased, but almost no z drawn this way explains a given x, so the
// estimate's variance is enormous: the lecture's argument for importance
// sampling with q(z | x) near the posterior. It is importance sampling with
// the uniform (or prior) proposal, and is computed as such.

#include <torch/types.h>

#include "estimators/estimator_options.h"
#include "estimators/weight_statistics.h"
#include "models/latent_variable_model.h"

namespace dgm {

/// log of the naive estimate of p(x_observed) for each row of x [B, D], with
/// the same diagnostics as importance sampling. Uniform over z for finite
/// latent spaces, the prior for continuous ones: options.proposal is not
/// read, only k and chunk.
ImportanceEstimate naive_monte_carlo(LatentVariableModel& model, const torch::Tensor& x,
                                     const EstimatorOptions& options = {}, const torch::Tensor& mask = {});

}  // namespace dgm
