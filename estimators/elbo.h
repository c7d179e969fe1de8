#pragma once
// The evidence lower bound (Kingma & Welling 2013, "Auto-Encoding Variational
// Bayes"): ELBO(x) = E_q[log p(x | z)] - KL(q(z | x) || p(z)) <= log p(x).
// With the reparameterized sampler of q its gradient flows into encoder and
// decoder alike. Prefer the IWAE bound (iwae_bound.h) when a tighter bound on
// log p(x) is wanted at the same model; the ELBO is IWAE with k = 1.

#include <torch/types.h>

#include "models/latent_variable_model.h"

namespace dgm {

struct ElboOptions {
  /// Samples of z per example averaged in the expectation. Default: 1.
  int64_t samples = 1;
  /// Use the closed-form KL when q and p have one (lower variance); otherwise
  /// E_q[log q - log p] by Monte Carlo. Default: true.
  bool analytic_kl = true;
};

/// The ELBO and its two terms, per example [B], in nats.
struct ElboTerms {
  torch::Tensor elbo;
  /// E_q[log p(x | z)], the reconstruction term.
  torch::Tensor expected_log_likelihood;
  /// KL(q || p), exact or estimated.
  torch::Tensor kl;
};

/// ELBO of each row of x [B, D]; `mask` [B, D] restricts it to observed entries.
ElboTerms elbo(LatentVariableModel& model, const torch::Tensor& x, const ElboOptions& options = {},
               const torch::Tensor& mask = {});

}  // namespace dgm
