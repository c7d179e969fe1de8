#pragma once
// The importance-weighted bound (Burda, Grosse & Salakhutdinov 2015,
// "Importance Weighted Autoencoders"):
//   IWAE_k(x) = E[ log (1/k) sum_i p(x, z_i) / q(z_i | x) ],  z_i ~ q(z | x).
// IWAE_1 is the ELBO; IWAE_k grows with k in expectation and tends to log p(x),
// which makes IWAE_5000 the usual test log-likelihood estimate. Samples are
// drawn in chunks and combined by a running log-sum-exp, so memory is bounded by
// the chunk whatever k is, and the result equals the one-chunk computation.

#include <torch/types.h>

#include "estimators/proposal.h"
#include "models/latent_variable_model.h"

namespace dgm {

struct IwaeOptions {
  /// Importance samples per example. Default: 50.
  int64_t k = 50;
  /// Samples drawn at once (0 = all k). Memory grows with chunk x B x D. Default: 0.
  int64_t chunk = 0;
  /// Where z comes from. Default: the model's own proposal.
  Proposal proposal = model_proposal();
  /// Reject NaN / +inf log-weights with a clear error (one host read per
  /// chunk; training leaves this to the trainer's loss check). Default: true.
  bool check_weights = true;
};

/// IWAE_k of each row of x [B, D] (a single draw of the estimator): [B], nats.
/// `mask` [B, D] restricts the bound to the observed entries. Differentiable
/// (reparameterized z), so it is also a training objective.
torch::Tensor iwae_bound(LatentVariableModel& model, const torch::Tensor& x, const IwaeOptions& options = {},
                         const torch::Tensor& mask = {});

}  // namespace dgm
