#pragma once
// M2 of Kingma, Rezende, Mohamed and Welling 2014 ("Semi-supervised learning
// with deep generative models"): an attribute y ~ Cat(1/K) and the rest
// w ~ N(0, I) cause x ~ p(x | y, w) (a decoder, Bernoulli or Gaussian); the
// proposal is a classifier q(y | x) and an encoder q(w | x, y). Its latent is
// z = (y, w) (models/class_latent.h): every estimator of dgm works on it by
// drawing z, and computations that sum over y exactly use its
// ClassLatentModel side. Without labels the same model clusters (a
// Gaussian-mixture VAE). Registered as model.type "m2".

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include <vector>

#include "core/dataset.h"
#include "core/options.h"
#include "models/class_latent.h"
#include "models/conv_nets.h"
#include "models/likelihood.h"
#include "models/mlp.h"

namespace dgm {

// clang-format off
#define DGM_M2_OPTIONS(X)                                                                                            \
  X(int64_t, classes, 10, "values of the attribute y, uniform under the prior", between(2, 100000))               \
  X(int64_t, latent_dim, 50, "dimensions of w, the latent besides y", between(1, 100000))                         \
  X(std::vector<int64_t>, hidden, (std::vector<int64_t>{500}),                                                       \
    "hidden widths of the classifier q(y|x) and of the encoder q(w|x,y); the decoder p(x|y,w) mirrors them (with " \
    "network conv: the dense layers beside the feature maps)", at_least(1))                                         \
  X(Network, network, Network::kMlp,                                                                                 \
    "mlp, or conv: 4x4 convolutions of stride 2 for q(y|x), for q(w|x,y) (x's feature maps, then y) and, "          \
    "mirrored, for p(x|y,w)", any_value())                                                                           \
  X(std::vector<int64_t>, conv_channels, (std::vector<int64_t>{32, 64}),                                             \
    "conv: channels after each convolution", at_least(1))                                                            \
  X(Activation, activation, Activation::kSoftplus, "relu, tanh, elu, leaky_relu, softplus (the paper's) or gelu",  \
    any_value())                                                                                                     \
  X(Likelihood, likelihood, Likelihood::kBernoulli, "bernoulli (logits; binary or [0, 1] data), gaussian "         \
    "(continuous data) or discretized_logistic (8-bit pixels k / 255, data.binarize none)", any_value())                                                                               \
  X(bool, learn_variance, true, "gaussian (discretized_logistic): learn one variance (scale) per pixel, or keep it fixed", any_value())             \
  X(double, variance, 1.0, "gaussian: the (initial) per-pixel variance; discretized_logistic: its square root is the scale", above(0))
// clang-format on

/// The model.* options of model.type m2.
struct M2Options {
  DGM_M2_OPTIONS(DGM_OPTION_MEMBER)
};
DGM_OPTION_TABLE(M2Options, DGM_M2_OPTIONS)

/// Checks what one option alone cannot (mlp needs hidden layers, conv
/// channels); errors name `where` (a config file, or "M2Options").
void check_m2_options(const M2Options& options, const std::string& where);

class M2Impl : public TrainableModel, public ClassLatentModel {
 public:
  /// An M2 with fresh parameters for examples of `shape`.
  M2Impl(const M2Options& options, const DataShape& shape);

  /// p(y) p(w) = Cat(1/K) N(0, I).
  std::shared_ptr<Distribution> prior(int64_t batch) override;
  /// q(y | x) q(w | x, y), where q(w | x, y) = N(mu(x, y), sigma^2(x, y))
  /// reads x (or, with conv, x's feature maps) and y's one-hot code. Under a
  /// mask, missing entries are set to 0 before the networks see them (the
  /// VAE's convention).
  std::shared_ptr<Distribution> proposal(const torch::Tensor& x, const torch::Tensor& mask = {}) override;
  std::shared_ptr<Distribution> likelihood(const torch::Tensor& z) override;
  torch::Tensor log_likelihood(const torch::Tensor& x, const torch::Tensor& z, const torch::Tensor& mask = {}) override;

  int64_t classes() const override { return options_.classes; }
  torch::Tensor class_log_prior() override;
  /// N(0, I).
  DiagNormal rest_prior(int64_t batch) override;
  torch::Tensor class_log_proposal(const torch::Tensor& x, const torch::Tensor& mask = {}) override;
  DiagNormal rest_proposal(const torch::Tensor& x, const torch::Tensor& mask = {}) override;
  /// q(w | x, y) for given classes y int64 [..., B] (any leading shape): batch [..., B], event [W].
  DiagNormal rest_proposal_given(const torch::Tensor& x, const torch::Tensor& y,
                                 const torch::Tensor& mask = {}) override;
  torch::Tensor log_likelihood_given_class(const torch::Tensor& x, const torch::Tensor& y, const torch::Tensor& w,
                                           const torch::Tensor& mask = {}) override;
  /// The decoder's raw output (logits or Gaussian means) for y int64 [...] and w [..., W].
  torch::Tensor decode(const torch::Tensor& y, const torch::Tensor& w);

  int64_t data_dim() const override { return shape_.dim; }
  /// 1 + W: the class, then w.
  int64_t latent_dim() const override { return 1 + options_.latent_dim; }
  bool needs_unit_interval() const override { return options_.likelihood == Likelihood::kBernoulli; }
  int64_t data_levels() const override { return likelihood_levels(options_.likelihood); }
  std::string describe() const override;
  const M2Options& options() const { return options_; }

 private:
  /// y's one-hot code in the dtype of the parameters: int64 [...] -> [..., K].
  torch::Tensor one_hot(const torch::Tensor& y) const;
  /// What the encoder's class-conditioned layers read of x: x itself (mlp)
  /// or its feature maps (conv), [B, F].
  torch::Tensor encoder_input(const torch::Tensor& x, const torch::Tensor& mask);
  M2Options options_;
  DataShape shape_;
  Mlp classifier_{nullptr}, encoder_{nullptr}, decoder_{nullptr};     // mlp (encoder_ for conv too: after the maps)
  ConvEncoder conv_classifier_{nullptr}, encoder_features_{nullptr};  // conv
  ConvDecoder conv_decoder_{nullptr};
  torch::Tensor log_variance_;  // Gaussian likelihood: per-pixel log-variance [D]
};
TORCH_MODULE(M2);

}  // namespace dgm
