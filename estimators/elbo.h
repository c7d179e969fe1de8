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
  /// Training surrogates (they change `objective`, never `elbo`):
  /// the weight of the KL term (beta-VAE, Higgins et al. 2017; KL warm-up
  /// ramps it). Default: 1.
  double kl_weight = 1.0;
  /// Free bits (Kingma et al. 2016): each latent dimension's KL, averaged over
  /// the batch, counts as at least this many nats. Needs a closed-form KL per
  /// dimension. Default: 0 (off).
  double free_bits = 0.0;
};

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

/// ELBO of each row of x [B, D]; `mask` [B, D] restricts it to observed entries.
ElboTerms elbo(LatentVariableModel& model, const torch::Tensor& x, const ElboOptions& options = {},
               const torch::Tensor& mask = {});

}  // namespace dgm
