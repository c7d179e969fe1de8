#pragma once
// The variational autoencoder (Kingma & Welling 2013, "Auto-Encoding
// Variational Bayes"): prior p(z) = N(0, I), an MLP encoder giving a diagonal
// Gaussian q(z | x), and an MLP decoder giving p(x | z), Bernoulli (logits) for
// binary or [0, 1] data or a diagonal Gaussian (per-pixel variance, fixed or
// learned) for continuous data.

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include <string>
#include <vector>

#include "models/latent_variable_model.h"
#include "models/mlp.h"

namespace dgm {

struct ModelConfig;

struct VaeOptions {
  VaeOptions(int64_t data_dim, int64_t latent_dim) : data_dim_(data_dim), latent_dim_(latent_dim) {}
  /// The options that `model.*` of a config describes, for data of `data_dim` values.
  static VaeOptions from_config(const ModelConfig& config, int64_t data_dim);
  TORCH_ARG(int64_t, data_dim);
  TORCH_ARG(int64_t, latent_dim);
  /// Encoder hidden widths; the decoder uses them reversed. Default: {400}.
  TORCH_ARG(std::vector<int64_t>, hidden) = std::vector<int64_t>{400};
  /// Default: relu.
  TORCH_ARG(std::string, activation) = "relu";
  /// bernoulli or gaussian. Default: bernoulli.
  TORCH_ARG(std::string, likelihood) = "bernoulli";
  /// Gaussian only: learn the per-pixel variance. Default: true.
  TORCH_ARG(bool, learn_variance) = true;
  /// Gaussian only: the (initial) per-pixel variance. Default: 1.
  TORCH_ARG(double, variance) = 1.0;
};

class VaeImpl : public TrainableModel {
 public:
  explicit VaeImpl(const VaeOptions& options);

  std::shared_ptr<Distribution> prior(int64_t batch) override;
  /// The encoder's q(z | x). Under a mask, missing entries are set to 0 before
  /// encoding (the convention of MIWAE, Mattei & Frellsen 2019): the encoder
  /// sees what an all-dark pixel would give, never the hidden value.
  std::shared_ptr<Distribution> proposal(const torch::Tensor& x, const torch::Tensor& mask = {}) override;
  std::shared_ptr<Distribution> likelihood(const torch::Tensor& z) override;
  torch::Tensor log_likelihood(const torch::Tensor& x, const torch::Tensor& z, const torch::Tensor& mask = {}) override;

  /// q(z | x) as its concrete type: [B, D] -> DiagNormal with batch [B].
  DiagNormal encode(const torch::Tensor& x);
  /// The decoder's raw output for z [..., latent]: logits or Gaussian means.
  torch::Tensor decode(const torch::Tensor& z);

  int64_t data_dim() const override { return options_.data_dim(); }
  int64_t latent_dim() const override { return options_.latent_dim(); }
  const VaeOptions& options() const { return options_; }

 private:
  VaeOptions options_;
  Mlp encoder_{nullptr}, decoder_{nullptr};
  torch::Tensor log_variance_;  // Gaussian likelihood: per-pixel log-variance [D]
};
TORCH_MODULE(Vae);

}  // namespace dgm
