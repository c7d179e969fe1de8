#pragma once
// The IWAE bound with the doubly reparameterized gradient (DReG; Tucker,
// Lawson, Gu & Maddison 2018, "Doubly Reparameterized Gradient Estimators for
// Monte Carlo Objectives"). The standard IWAE gradient of the proposal's
// parameters phi, sum_i w~_i d/dphi log w_i, carries a score-function term
// whose variance grows with k. DReG rewrites it, exactly in expectation, as
//   sum_i w~_i^2 (d log w_i / d z_i) (d z_i / d phi),
// a pure path derivative; the model's parameters theta keep the standard
// sum_i w~_i d/dtheta log w_i. Both are obtained from one backward pass.
// iwae_bound (iwae_bound.h) calls it when options.gradient is Gradient::kDreg.

#include <torch/types.h>

#include "estimators/estimator_options.h"
#include "models/latent_variable_model.h"

namespace dgm {

/// IWAE_k of each row of x [B, D] ([B], nats): the same value as the standard
/// bound (the same draws under the same seed), but its gradient is DReG's for
/// the proposal's parameters and the standard one for the model's. The
/// proposal must be reparameterizable; any structure (e.g. two stochastic
/// layers) works, as long as its log_prob is differentiable in z. Reads
/// options.k and proposal; `mask` as in iwae_bound.
torch::Tensor iwae_bound_dreg(LatentVariableModel& model, const torch::Tensor& x, const EstimatorOptions& options,
                              const torch::Tensor& mask = {});

}  // namespace dgm
