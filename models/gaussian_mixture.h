#pragma once
// The Gaussian mixture: z ~ Categorical(pi), x | z = k ~ N(mu_k, Sigma_k), the
// lecture's shallow latent variable model. Parameters are stored as
// scikit-learn stores them, with the Cholesky factor of each precision
// (Sigma_k^{-1} = P_k P_k^T), so log-densities need only matrix products.
// Covariance types are a run-time choice, each a small policy
// (models/covariance_structure.h): full (one D x D per component), tied (one
// D x D shared), diag (one variance per dimension and component), spherical
// (one variance per component). The model is apart from its fitter (EM lives
// in trainers/gmm_em.h), as in mlpack.

#include <torch/types.h>

#include <string>

#include "models/covariance_structure.h"
#include "models/latent_variable_model.h"

namespace dgm {

class GaussianMixture : public LatentVariableModel {
 public:
  /// weights [K] (summing to 1), means [K, D], and the precision Cholesky
  /// factors: full [K, D, D], tied [D, D], diag [K, D], spherical [K].
  GaussianMixture(torch::Tensor weights, torch::Tensor means, torch::Tensor precision_cholesky, CovarianceType type);
  /// The same mixture from covariances (full [K, D, D], tied [D, D], diag [K, D],
  /// spherical [K]); a covariance that is not positive definite is a dgm::Error.
  static GaussianMixture from_covariances(torch::Tensor weights, torch::Tensor means, const torch::Tensor& covariances,
                                          CovarianceType type);

  /// log N(x | mu_k, Sigma_k): [N, K]. Rows are processed in chunks.
  torch::Tensor component_log_prob(const torch::Tensor& x, const torch::Tensor& mask = {}) const;
  /// The coefficients [T + D + 1, K] with quadratic_features(x) @ them =
  /// log N(x | k) (+ log pi_k when `with_log_weights`), for full covariances.
  torch::Tensor natural_parameters(bool with_log_weights) const;
  /// log pi_k + log N(x | mu_k, Sigma_k): [N, K].
  /// With a mask [N, D], only observed coordinates count (the missing ones are
  /// marginalized exactly: a Gaussian's marginal is the Gaussian of the
  /// observed coordinates).
  torch::Tensor weighted_log_prob(const torch::Tensor& x, const torch::Tensor& mask = {}) const;
  /// Exact log p(x) by log-sum-exp over components: [N].
  torch::Tensor log_prob(const torch::Tensor& x, const torch::Tensor& mask = {}) const;
  /// p(z = k | x): [N, K].
  torch::Tensor responsibilities(const torch::Tensor& x, const torch::Tensor& mask = {}) const;
  /// The most probable component: [N] (int64).
  torch::Tensor predict(const torch::Tensor& x) const;
  /// n draws: {x [n, D], component [n]}.
  std::pair<torch::Tensor, torch::Tensor> sample(int64_t n) const;
  /// Free parameters (as scikit-learn counts them).
  int64_t parameter_count() const;
  /// -2 sum log p(x) + p log N, and -2 sum log p(x) + 2 p.
  double bic(const torch::Tensor& x, const torch::Tensor& mask = {}) const;
  double aic(const torch::Tensor& x, const torch::Tensor& mask = {}) const;

  /// Covariances in the storage shape of the type.
  torch::Tensor covariances() const;
  /// Full covariance matrices [K, D, D] whatever the type.
  torch::Tensor full_covariances() const;

  // LatentVariableModel: z is the component index (int64), a finite latent space.
  std::shared_ptr<Distribution> prior(int64_t batch) override;
  /// The exact posterior p(z | x_observed) (responsibilities).
  std::shared_ptr<Distribution> proposal(const torch::Tensor& x, const torch::Tensor& mask = {}) override;
  bool proposal_is_posterior() const override { return true; }
  std::shared_ptr<Distribution> likelihood(const torch::Tensor& z) override;
  torch::Tensor log_likelihood(const torch::Tensor& x, const torch::Tensor& z, const torch::Tensor& mask = {}) override;
  std::optional<torch::Tensor> closed_form_log_marginal(const torch::Tensor& x,
                                                        const torch::Tensor& mask = {}) override;
  bool has_closed_form_marginal() const override { return true; }
  int64_t latent_support_size() const override { return components(); }
  torch::Tensor latent_values(const torch::Tensor& indices) const override { return indices; }
  int64_t data_dim() const override { return means_.size(1); }
  int64_t latent_dim() const override { return 1; }

  int64_t components() const { return means_.size(0); }
  CovarianceType type() const { return type_; }
  /// The policy of the covariance type.
  const CovarianceStructure& structure() const { return covariance_structure(type_); }
  const torch::Tensor& weights() const { return weights_; }
  const torch::Tensor& means() const { return means_; }
  const torch::Tensor& precision_cholesky() const { return precision_cholesky_; }
  GaussianMixture to(torch::Device device, torch::Dtype dtype) const;

 private:
  torch::Tensor weights_, means_, precision_cholesky_;
  CovarianceType type_;
};

}  // namespace dgm
