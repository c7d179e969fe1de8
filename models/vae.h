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

#include "models/conv_nets.h"
#include "models/latent_variable_model.h"
#include "models/mlp.h"

namespace dgm {

struct ModelConfig;

struct VaeOptions {
  VaeOptions(int64_t data_dim, int64_t latent_dim) : data_dim_(data_dim), latent_dim_(latent_dim) {}
  /// The options that `model.*` of a config describes, for data of `data_dim` values.
  static VaeOptions from_config(const ModelConfig& config, int64_t data_dim, std::vector<int64_t> image_shape = {});
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
  /// A second stochastic layer z2 above z1 (the IWAE paper's two-layer model):
  /// p(z2) p(z1 | z2) p(x | z1), q(z1 | x) q(z2 | z1). 0 = one layer. Default: 0.
  TORCH_ARG(int64_t, second_latent_dim) = 0;
  /// Hidden widths of q(z2 | z1); p(z1 | z2) uses them reversed. Default: {}.
  TORCH_ARG(std::vector<int64_t>, second_hidden);
  /// mlp, or conv: convolutions for the x <-> z1 networks (needs image_shape);
  /// `hidden` then lists the dense layers between feature maps and code. Default: mlp.
  TORCH_ARG(std::string, network) = "mlp";
  /// conv: channels after each convolution. Default: {32, 64}.
  TORCH_ARG(std::vector<int64_t>, conv_channels) = std::vector<int64_t>{32, 64};
  /// The examples' picture shape, [H, W] or [C, H, W] (conv only). Default: {}.
  TORCH_ARG(std::vector<int64_t>, image_shape);
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

  /// q(z1 | x), the first (or only) stochastic layer: [B, D] -> DiagNormal with batch [B].
  DiagNormal encode(const torch::Tensor& x);
  /// The decoder's raw output for z [..., latent] (or z1 first, then z2:
  /// only z1 is read): logits or Gaussian means.
  torch::Tensor decode(const torch::Tensor& z);
  /// Sets the output layer's bias from the training data's mean [D]: the
  /// log-odds for a Bernoulli decoder (clamped to [1e-3, 1 - 1e-3]), the mean
  /// for a Gaussian one — the IWAE paper's initialisation.
  void init_output_bias(const torch::Tensor& data_mean);

  int64_t data_dim() const override { return options_.data_dim(); }
  /// The size of z: latent_dim, plus second_latent_dim with two layers.
  int64_t latent_dim() const override { return options_.latent_dim() + options_.second_latent_dim(); }
  bool two_layers() const { return options_.second_latent_dim() > 0; }
  const VaeOptions& options() const { return options_; }

 private:
  VaeOptions options_;
  Mlp encoder_{nullptr}, decoder_{nullptr};  // network = mlp
  ConvEncoder conv_encoder_{nullptr};        // network = conv
  ConvDecoder conv_decoder_{nullptr};
  Mlp upper_encoder_{nullptr}, upper_decoder_{nullptr};  // q(z2 | z1) and p(z1 | z2)
  torch::Tensor log_variance_;                           // Gaussian likelihood: per-pixel log-variance [D]
};
TORCH_MODULE(Vae);

}  // namespace dgm
