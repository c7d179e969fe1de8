#pragma once
// Probabilistic PCA (Tipping & Bishop 1999, "Probabilistic Principal Component
// Analysis"): z ~ N(0, I_L), x | z ~ N(W z + mu, sigma^2 I_D). Its marginal
// p(x) = N(mu, W W^T + sigma^2 I) and posterior p(z | x) are Gaussian in closed
// form, which makes it the reference that checks every estimator: the exact
// log p(x) is known, and the exact posterior is available as a proposal.
// Registered as model.type "ppca", fitted in closed form by `dgm train`.

#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include "core/dataset.h"
#include "core/options.h"
#include "models/latent_variable_model.h"

namespace dgm {

// clang-format off
#define DGM_PPCA_OPTIONS(X) \
  X(int64_t, latent_dim, 8, "latent dimensions L (fewer than the data's)", at_least(1))
// clang-format on

/// The model.* options of model.type ppca.
struct PpcaOptions {
  DGM_PPCA_OPTIONS(DGM_OPTION_MEMBER)
};
DGM_OPTION_TABLE(PpcaOptions, DGM_PPCA_OPTIONS)

class PpcaImpl : public TrainableModel {
 public:
  /// An unfitted model (W = 0, mu = 0, sigma^2 = 1) for examples of `shape`:
  /// fit_closed_form (or a checkpoint) gives it its values.
  PpcaImpl(const PpcaOptions& options, const DataShape& shape);
  /// W [D, L], mu [D], noise variance sigma2 > 0.
  PpcaImpl(torch::Tensor weight, torch::Tensor mean, double noise_variance);

  /// The maximum-likelihood fit in closed form: mu is the data mean, W spans the
  /// top L eigenvectors of the sample covariance scaled by sqrt(lambda - sigma^2),
  /// sigma^2 is the mean of the discarded eigenvalues; computed in float64.
  /// x: [N, D], N > 1, L < D.
  bool fits_in_closed_form() const override { return true; }
  void fit_closed_form(const torch::Tensor& x) override;

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
  std::string describe() const override;
  const torch::Tensor& weight() const { return weight_; }
  const torch::Tensor& mean() const { return mean_; }
  /// sigma^2 (one host read).
  double noise_variance() const;

 private:
  /// Per example: M = W_o^T W_o + sigma^2 I [B, L, L] and W_o^T (x_o - mu_o) [B, L].
  std::pair<torch::Tensor, torch::Tensor> observed_terms(const torch::Tensor& x, const torch::Tensor& mask) const;
  torch::Tensor weight_, mean_, noise_variance_;  // [D, L], [D], [] (buffers)
};
TORCH_MODULE(Ppca);

/// The closed-form fit of pPCA with L latents to x [N, D] (see fit_closed_form),
/// in x's dtype, on x's device.
Ppca fit_ppca(const torch::Tensor& x, int64_t latent_dim);

/// A copy of `model` on `device` in `dtype`.
Ppca ppca_copy(const PpcaImpl& model, torch::Device device, torch::Dtype dtype);

}  // namespace dgm
