#pragma once
// The seed's sum over an attribute: for a model whose latent is z = (y, w)
// with finitely many classes y (models/class_latent.h),
//
//   p(x, y) = ∫ p(y, w, x) dw   by importance sampling over w with q(w | x, y),
//   p(x)    = Σ_y p(x, y),      p(y | x) = p(x, y) / Σ_y' p(x, y'),
//
// y summed exactly, only w drawn. Registered as the estimator "class_sum"
// (models with a class latent only).

#include <torch/types.h>

#include "estimators/estimator_options.h"
#include "models/latent_variable_model.h"

namespace dgm {

/// log p̂(x, y) for every class: log (1/k) Σ_i p(x, y, w_i) / q(w_i | x, y)
/// with k draws of w per class, options.chunk at a time (0 = all k): [B, K],
/// nats. Each exponentiated is unbiased for p(x, y). Differentiable (w is
/// reparameterized). A model without a class latent is a dgm::Error.
torch::Tensor class_log_joint(LatentVariableModel& model, const torch::Tensor& x, const EstimatorOptions& options,
                              const torch::Tensor& mask = {});

/// log p(y | x) by the sum: class_log_joint normalized over y: [B, K].
torch::Tensor class_log_posterior(LatentVariableModel& model, const torch::Tensor& x, const EstimatorOptions& options,
                                  const torch::Tensor& mask = {});

/// The two answers to "which class is x?" for the rows of x [N, D], in
/// batches of `batch_size` (memory bounded by the batch and options.chunk).
struct ClassPosteriors {
  /// log p(y | x) by the seed's sum (class_log_posterior): [N, K].
  torch::Tensor by_sum;
  /// log q(y | x), the amortised classifier: [N, K].
  torch::Tensor amortised;
};
ClassPosteriors class_posteriors(LatentVariableModel& model, const torch::Tensor& x, const EstimatorOptions& options,
                                 int64_t batch_size, const torch::Tensor& mask = {});

/// log p̂(x) = log Σ_y p̂(x, y): [B]. The log of an unbiased estimate of p(x).
torch::Tensor class_sum_log_marginal(LatentVariableModel& model, const torch::Tensor& x,
                                     const EstimatorOptions& options, const torch::Tensor& mask = {});

}  // namespace dgm
