#pragma once
// Probabilistic PCA (Tipping & Bishop 1999, "Probabilistic Principal Component
// Analysis"): z ~ N(0, I_L), x | z ~ N(W z + mu, sigma^2 I_D). Its marginal
// p(x) = N(mu, W W^T + sigma^2 I) and posterior p(z | x) are Gaussian in closed
// form, which makes it the reference that checks every estimator: the exact
// log p(x) is known, and the exact posterior is available as a proposal.

#include <torch/types.h>

#include "models/latent_variable_model.h"

namespace dgm {

class Ppca : public LatentVariableModel {
 public:
  /// W [D, L], mu [D], noise variance sigma2 > 0.
  Ppca(torch::Tensor weight, torch::Tensor mean, double noise_variance);

  /// The maximum-likelihood fit in closed form: mu is the data mean, W spans the
  /// top L eigenvectors of the sample covariance scaled by sqrt(lambda - sigma^2),
  /// sigma^2 is the mean of the discarded eigenvalues. x: [N, D], N > 1, L < D.
  static Ppca fit(const torch::Tensor& x, int64_t latent_dim);

  std::shared_ptr<Distribution> prior(int64_t batch) override;
  /// The exact posterior p(z | x_observed): a full-covariance Gaussian.
  std::shared_ptr<Distribution> proposal(const torch::Tensor& x, const torch::Tensor& mask = {}) override;
  bool proposal_is_posterior() const override { return true; }
  std::shared_ptr<Distribution> likelihood(const torch::Tensor& z) override;
  torch::Tensor log_likelihood(const torch::Tensor& x, const torch::Tensor& z, const torch::Tensor& mask = {}) override;
  /// log N(x_o; mu_o, W_o W_o^T + sigma^2 I), by the matrix determinant lemma
  /// and Woodbury's identity: only L x L matrices per example.
  std::optional<torch::Tensor> closed_form_log_marginal(const torch::Tensor& x,
                                                        const torch::Tensor& mask = {}) override;
  bool has_closed_form_marginal() const override { return true; }

  int64_t data_dim() const override { return weight_.size(0); }
  int64_t latent_dim() const override { return weight_.size(1); }
  const torch::Tensor& weight() const { return weight_; }
  const torch::Tensor& mean() const { return mean_; }
  double noise_variance() const { return noise_variance_; }
  /// The same model in another dtype / on another device.
  Ppca to(torch::Device device, torch::Dtype dtype) const;

 private:
  /// Per example: M = W_o^T W_o + sigma^2 I [B, L, L] and W_o^T (x_o - mu_o) [B, L].
  std::pair<torch::Tensor, torch::Tensor> observed_terms(const torch::Tensor& x, const torch::Tensor& mask) const;
  torch::Tensor weight_, mean_;
  double noise_variance_;
};

}  // namespace dgm
