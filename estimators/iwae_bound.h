#pragma once
// The importance-weighted bound (Burda, Grosse & Salakhutdinov 2015,
// "Importance Weighted Autoencoders"):
//   IWAE_k(x) = E[ log (1/k) sum_i p(x, z_i) / q(z_i | x) ],  z_i ~ q(z | x).
// IWAE_1 is the ELBO; IWAE_k grows with k in expectation and tends to log p(x),
// which makes IWAE_5000 the usual test log-likelihood estimate. Samples are
// drawn in chunks and combined by a running log-sum-exp, so memory is bounded by
// the chunk whatever k is, and the result equals the one-chunk computation.
// Its gradient for the proposal is the standard one (autograd through the
// bound) or, with Gradient::kDreg, the doubly reparameterized one
// (Tucker et al. 2018; see iwae_dreg.h): the same value, lower variance.

#include <torch/types.h>

#include "estimators/estimator_options.h"
#include "models/latent_variable_model.h"

namespace dgm {

/// IWAE_k of each row of x [B, D] (a single draw of the estimator): [B], nats.
/// `mask` [B, D] restricts the bound to the observed entries. Differentiable
/// (reparameterized z), so it is also a training objective. Reads options.k,
/// chunk, proposal, gradient and check_weights (DReG draws all k at once: its
/// gradient needs them together).
torch::Tensor iwae_bound(LatentVariableModel& model, const torch::Tensor& x, const EstimatorOptions& options = {},
                         const torch::Tensor& mask = {});

}  // namespace dgm
