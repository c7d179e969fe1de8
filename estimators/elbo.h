#pragma once
// The evidence lower bound (Kingma & Welling 2013, "Auto-Encoding Variational
// Bayes"): ELBO(x) = E_q[log p(x | z)] - KL(q(z | x) || p(z)) <= log p(x).
// With the reparameterized sampler of q its gradient flows into encoder and
// decoder alike. Prefer the IWAE bound (iwae_bound.h) when a tighter bound on
// log p(x) is wanted at the same model; the ELBO is IWAE with k = 1.

#include <torch/types.h>

#include "estimators/estimator_options.h"
#include "models/latent_variable_model.h"

namespace dgm {

/// The ELBO and its two terms, per example [B], in nats.
struct ElboTerms {
  torch::Tensor elbo;
  /// E_q[log p(x | z)], the reconstruction term.
  torch::Tensor expected_log_likelihood;
  /// KL(q || p), exact or estimated.
  torch::Tensor kl;
  /// What training maximizes: E_q[log p(x | z)] - kl_weight * KL, with free
  /// bits applied to the KL; equal to `elbo` with the default options.
  torch::Tensor objective;
};

/// ELBO of each row of x [B, D]; `mask` [B, D] restricts it to observed
/// entries. Reads options.k (samples of z averaged), proposal, analytic_kl,
/// kl_weight and free_bits.
ElboTerms elbo(LatentVariableModel& model, const torch::Tensor& x, const EstimatorOptions& options = {},
               const torch::Tensor& mask = {});

}  // namespace dgm
