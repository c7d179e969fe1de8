#pragma once
// Convolutional encoder and decoder for pictures (the DCGAN-style pair most
// VAE code uses): each layer halves (encoder) or doubles (decoder) the height
// and width with 4x4 kernels, stride 2, padding 1; fully connected layers
// join the feature maps and the latent code. They take and give flat
// examples [..., C*H*W], as the MLPs do, so the VAE is the same either way.

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/pimpl.h>

#include <string>
#include <vector>

#include "core/options.h"
#include "models/mlp.h"

namespace dgm {

/// The networks between x and the latent of a model (model.network).
enum class Network {
  kMlp,   ///< fully connected layers
  kConv,  ///< 4x4 convolutions of stride 2 (pictures)
};
DGM_ENUM_NAMES(Network, "network", {Network::kMlp, "mlp"}, {Network::kConv, "conv"});

struct ConvNetOptions {
  /// [C, H, W] of the pictures (a [H, W] shape means one channel).
  std::vector<int64_t> image_shape;
  /// Channels after each convolution, e.g. {32, 64}.
  std::vector<int64_t> channels;
  /// Fully connected widths between the feature maps and the code.
  std::vector<int64_t> hidden;
  /// The encoder's output (2 * latent) or the decoder's input (latent) size.
  /// An encoder with code_size 0 has no dense layers: it gives the last
  /// feature maps, activated and flattened (feature_size() values).
  int64_t code_size = 0;
  Activation activation = Activation::kRelu;
};

/// [..., C*H*W] -> [..., code_size].
class ConvEncoderImpl : public torch::nn::Module {
 public:
  explicit ConvEncoderImpl(const ConvNetOptions& options);
  torch::Tensor forward(const torch::Tensor& x);
  /// What forward gives per example: code_size, or the flattened feature maps.
  int64_t output_size() const { return output_size_; }

 private:
  std::vector<int64_t> image_shape_;
  int64_t output_size_ = 0;
  std::vector<torch::nn::Conv2d> convs_;
  Mlp head_{nullptr};
  ActivationFunction activation_;
};
TORCH_MODULE(ConvEncoder);

/// [..., code_size] -> [..., C*H*W] (logits or means: no activation at the end).
class ConvDecoderImpl : public torch::nn::Module {
 public:
  explicit ConvDecoderImpl(const ConvNetOptions& options);
  torch::Tensor forward(const torch::Tensor& z);
  /// The last transposed convolution's bias [C] (one per channel).
  torch::Tensor& output_bias();

 private:
  std::vector<int64_t> image_shape_, first_map_;  // first_map_: [channels, h, w] after the dense layers
  Mlp head_{nullptr};
  std::vector<torch::nn::ConvTranspose2d> deconvs_;
  ActivationFunction activation_;
};
TORCH_MODULE(ConvDecoder);

/// [C, H, W] of a picture shape ([H, W] -> [1, H, W]); anything else is a dgm::Error.
std::vector<int64_t> channels_first(const std::vector<int64_t>& image_shape);

/// Checks that examples of `dim` values are pictures of `image_shape`, as
/// model.network = conv needs; otherwise a dgm::Error that says to use mlp.
void check_conv_pictures(const std::vector<int64_t>& image_shape, int64_t dim);

}  // namespace dgm
