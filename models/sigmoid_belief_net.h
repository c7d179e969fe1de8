#pragma once
// A one-layer sigmoid belief network (Neal 1992): d independent binary latent
// units z ~ Bernoulli(sigmoid(b)) and Bernoulli pixels x | z ~
// Bernoulli(sigmoid(W z + c)). Its exact log p(x) is the sum over all 2^d
// configurations of z: the lecture's "30 binary latent variables give 2^30
// terms", at a size where the sum is still computable (2^d <= 2^24 here), so
// the estimators can be checked against it.

#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include "models/latent_variable_model.h"

namespace dgm {

struct SigmoidBeliefNetOptions {
  SigmoidBeliefNetOptions(int64_t data_dim, int64_t latent_dim) : data_dim_(data_dim), latent_dim_(latent_dim) {}
  TORCH_ARG(int64_t, data_dim);
  /// Binary latent units d (at most 62); exact enumeration needs d <= 24.
  TORCH_ARG(int64_t, latent_dim);
  /// Configurations of z evaluated at once when enumerating. Default: 1024.
  TORCH_ARG(int64_t, enumeration_chunk) = 1024;
};

class SigmoidBeliefNetImpl : public TrainableModel {
 public:
  explicit SigmoidBeliefNetImpl(const SigmoidBeliefNetOptions& options);

  std::shared_ptr<Distribution> prior(int64_t batch) override;
  /// A factorized Bernoulli q(z | x) whose marginals are the exact posterior
  /// marginals p(z_j = 1 | x), found by enumerating the 2^d configurations:
  /// close to the posterior, but not it (the posterior's correlations are lost).
  std::shared_ptr<Distribution> proposal(const torch::Tensor& x, const torch::Tensor& mask = {}) override;
  std::shared_ptr<Distribution> likelihood(const torch::Tensor& z) override;
  torch::Tensor log_likelihood(const torch::Tensor& x, const torch::Tensor& z, const torch::Tensor& mask = {}) override;

  /// 2^d.
  int64_t latent_support_size() const override;
  /// The bits of each index, least significant first, as floats: [..., d].
  torch::Tensor latent_values(const torch::Tensor& indices) const override;

  int64_t data_dim() const override { return options_.data_dim(); }
  int64_t latent_dim() const override { return options_.latent_dim(); }

 private:
  SigmoidBeliefNetOptions options_;
  torch::Tensor prior_logits_;  // [d]
  torch::nn::Linear decoder_{nullptr};
};
TORCH_MODULE(SigmoidBeliefNet);

}  // namespace dgm
