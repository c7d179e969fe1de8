#pragma once
// The variational autoencoder (Kingma & Welling 2013, "Auto-Encoding
// Variational Bayes"): prior p(z) = N(0, I), an encoder (MLP or convolutions)
// giving a diagonal Gaussian q(z | x), and a decoder giving p(x | z),
// Bernoulli (logits) for binary or [0, 1] data or a diagonal Gaussian
// (per-pixel variance, fixed or learned) for continuous data. With a second
// stochastic layer it is the IWAE paper's two-layer model (Burda et al. 2015).
// Registered as model.type "vae".

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include <vector>

#include "core/dataset.h"
#include "core/options.h"
#include "models/conv_nets.h"
#include "models/latent_variable_model.h"
#include "models/likelihood.h"
#include "models/mlp.h"

namespace dgm {

// clang-format off
#define DGM_VAE_OPTIONS(X)                                                                                           \
  X(int64_t, latent_dim, 20, "latent dimensions (of z1 with two layers)", between(1, 100000))                       \
  X(std::vector<int64_t>, hidden, (std::vector<int64_t>{400}),                                                      \
    "encoder hidden widths; the decoder mirrors them (with network conv: the dense layers between the feature "     \
    "maps and z)", at_least(1))                                                                                      \
  X(Network, network, Network::kMlp,                                                                                \
    "mlp, or conv: 4x4 convolutions of stride 2 (each halves height and width; odd sizes are restored on the way "  \
    "back) for the x <-> z networks", any_value())                                                                  \
  X(std::vector<int64_t>, conv_channels, (std::vector<int64_t>{32, 64}),                                            \
    "conv: channels after each convolution", at_least(1))                                                           \
  X(Activation, activation, Activation::kRelu, "relu, tanh, elu, leaky_relu, softplus or gelu", any_value())       \
  X(Likelihood, likelihood, Likelihood::kBernoulli, "bernoulli (logits; binary or [0, 1] data), gaussian "         \
    "(continuous data) or discretized_logistic (8-bit pixels k / 255, data.binarize none)", any_value())                                                                               \
  X(bool, learn_variance, true, "gaussian (discretized_logistic): learn one variance (scale) per pixel, or keep it fixed", any_value())             \
  X(double, variance, 1.0, "gaussian: the (initial) per-pixel variance; discretized_logistic: its square root is the scale", above(0))                                  \
  X(int64_t, second_latent_dim, 0,                                                                                  \
    "a second stochastic layer z2 of this size above z1: p(z2) p(z1|z2) p(x|z1), q(z1|x) q(z2|z1), the IWAE "      \
    "paper's two-layer model; 0 = one layer", between(0, 100000))                                                   \
  X(std::vector<int64_t>, second_hidden, (std::vector<int64_t>{}),                                                  \
    "widths of q(z2|z1); p(z1|z2) mirrors them", at_least(1))                                                      \
  X(bool, output_bias_from_data, false,                                                                             \
    "start the output layer's bias at the training data's log-odds (bernoulli) or mean (gaussian), as the IWAE "   \
    "paper did", any_value())
// clang-format on

/// The model.* options of model.type vae.
struct VaeOptions {
  DGM_VAE_OPTIONS(DGM_OPTION_MEMBER)
};
DGM_OPTION_TABLE(VaeOptions, DGM_VAE_OPTIONS)

/// Checks what one option alone cannot (conv needs channels, mlp hidden
/// layers); errors name `where` (a config file, or "VaeOptions").
void check_vae_options(const VaeOptions& options, const std::string& where);

class VaeImpl : public TrainableModel {
 public:
  /// A VAE with fresh parameters for examples of `shape` (conv needs a picture shape).
  VaeImpl(const VaeOptions& options, const DataShape& shape);

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
  /// With output_bias_from_data: init_output_bias(train_x.mean(0)).
  void initialize_from_data(const torch::Tensor& train_x) override;

  int64_t data_dim() const override { return shape_.dim; }
  /// The size of z: latent_dim, plus second_latent_dim with two layers.
  int64_t latent_dim() const override { return options_.latent_dim + options_.second_latent_dim; }
  bool needs_unit_interval() const override { return options_.likelihood == Likelihood::kBernoulli; }
  int64_t data_levels() const override { return likelihood_levels(options_.likelihood); }
  std::string describe() const override;
  bool two_layers() const { return options_.second_latent_dim > 0; }
  const VaeOptions& options() const { return options_; }

 private:
  VaeOptions options_;
  DataShape shape_;
  Mlp encoder_{nullptr}, decoder_{nullptr};  // network = mlp
  ConvEncoder conv_encoder_{nullptr};        // network = conv
  ConvDecoder conv_decoder_{nullptr};
  Mlp upper_encoder_{nullptr}, upper_decoder_{nullptr};  // q(z2 | z1) and p(z1 | z2)
  torch::Tensor log_variance_;                           // Gaussian likelihood: per-pixel log-variance [D]
};
TORCH_MODULE(Vae);

}  // namespace dgm
