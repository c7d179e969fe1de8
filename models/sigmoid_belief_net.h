#pragma once
// A one-layer sigmoid belief network (Neal 1992): d independent binary latent
// units z ~ Bernoulli(sigmoid(b)) and Bernoulli pixels x | z ~
// Bernoulli(sigmoid(W z + c)). Its exact log p(x) is the sum over all 2^d
// configurations of z: the lecture's "30 binary latent variables give 2^30
// terms", at a size where the sum is still computable (2^d <= 2^24 here), so
// the estimators can be checked against it.

#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include "core/dataset.h"
#include "core/options.h"
#include "models/latent_variable_model.h"

namespace dgm {

// clang-format off
#define DGM_SBN_OPTIONS(X)                                                                                    \
  X(int64_t, latent_dim, 10, "binary latent units d (exact sums over the 2^d configurations need d <= 24)",  \
    between(1, 62))                                                                                           \
  X(int64_t, enumeration_chunk, 1024, "configurations of z evaluated at once when enumerating", at_least(1))
// clang-format on

/// The model.* options of model.type sbn.
struct SigmoidBeliefNetOptions {
  DGM_SBN_OPTIONS(DGM_OPTION_MEMBER)
};
DGM_OPTION_TABLE(SigmoidBeliefNetOptions, DGM_SBN_OPTIONS)

/// Registered as model.type "sbn"; trained with train.objective exact.
class SigmoidBeliefNetImpl : public TrainableModel {
 public:
  SigmoidBeliefNetImpl(const SigmoidBeliefNetOptions& options, const DataShape& shape);

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

  int64_t data_dim() const override { return data_dim_; }
  int64_t latent_dim() const override { return options_.latent_dim; }
  bool needs_unit_interval() const override { return true; }
  std::string describe() const override;

 private:
  SigmoidBeliefNetOptions options_;
  int64_t data_dim_;
  torch::Tensor prior_logits_;  // [d]
  torch::nn::Linear decoder_{nullptr};
};
TORCH_MODULE(SigmoidBeliefNet);

}  // namespace dgm
