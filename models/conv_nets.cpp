#include "models/conv_nets.h"

#include <fmt/format.h>
#include <torch/torch.h>

#include "core/error.h"

namespace dgm {
namespace {

/// Height or width after a 4x4 convolution with stride 2 and padding 1.
int64_t halved(int64_t size) { return size + 2 < 4 ? 0 : (size + 2 - 4) / 2 + 1; }

/// [C, H, W] after each convolution, the picture's first.
std::vector<std::vector<int64_t>> feature_shapes(const std::vector<int64_t>& image,
                                                 const std::vector<int64_t>& channels) {
  std::vector<std::vector<int64_t>> shapes{image};
  for (const auto c : channels) {
    const auto& last = shapes.back();
    const int64_t h = halved(last[1]), w = halved(last[2]);
    if (h < 1 || w < 1)
      fail("model.conv_channels has {} layers, too many for {}x{} pictures: each halves the height and width",
           channels.size(), image[1], image[2]);
    shapes.push_back({c, h, w});
  }
  return shapes;
}

std::vector<int64_t> with_last(torch::IntArrayRef leading, int64_t last) {
  std::vector<int64_t> shape(leading.begin(), leading.end());
  shape.push_back(last);
  return shape;
}

}  // namespace

std::vector<int64_t> channels_first(const std::vector<int64_t>& image_shape) {
  if (image_shape.size() == 2) return {1, image_shape[0], image_shape[1]};
  if (image_shape.size() == 3) return image_shape;
  fail("a convolutional network needs pictures ([H, W] or [C, H, W]), but the examples have the shape [{}]",
       fmt::join(image_shape, ", "));
}

void check_conv_pictures(const std::vector<int64_t>& image_shape, int64_t dim) {
  int64_t pixels = 1;
  for (const auto size : image_shape) pixels *= size;
  if (image_shape.empty() || pixels != dim)
    fail(
        "model.network = conv needs pictures, but the examples are {} values without a picture shape; use "
        "model.network=mlp",
        dim);
}

ConvEncoderImpl::ConvEncoderImpl(const ConvNetOptions& options)
    : image_shape_(channels_first(options.image_shape)), activation_(activation_function(options.activation)) {
  if (options.channels.empty()) fail("model.conv_channels must list at least one layer, e.g. [32, 64]");
  const auto shapes = feature_shapes(image_shape_, options.channels);
  for (std::size_t i = 0; i < options.channels.size(); ++i)
    convs_.push_back(register_module(
        fmt::format("conv{}", i),
        torch::nn::Conv2d(torch::nn::Conv2dOptions(shapes[i][0], shapes[i + 1][0], 4).stride(2).padding(1))));
  const auto& last = shapes.back();
  output_size_ = last[0] * last[1] * last[2];
  if (options.code_size > 0) {
    head_ = register_module(
        "head", Mlp(MlpOptions(output_size_, options.hidden, options.code_size).activation(options.activation)));
    output_size_ = options.code_size;
  }
}

torch::Tensor ConvEncoderImpl::forward(const torch::Tensor& x) {
  const auto leading = x.sizes().slice(0, x.dim() - 1);
  auto y = x.reshape({-1, image_shape_[0], image_shape_[1], image_shape_[2]});
  for (auto& conv : convs_) y = activation_(conv->forward(y));
  auto out = head_ ? head_->forward(y.flatten(1)) : y.flatten(1);
  return out.reshape(with_last(leading, out.size(-1)));
}

ConvDecoderImpl::ConvDecoderImpl(const ConvNetOptions& options)
    : image_shape_(channels_first(options.image_shape)), activation_(activation_function(options.activation)) {
  if (options.channels.empty()) fail("model.conv_channels must list at least one layer, e.g. [32, 64]");
  const auto shapes = feature_shapes(image_shape_, options.channels);
  first_map_ = shapes.back();
  head_ = register_module(
      "head", Mlp(MlpOptions(options.code_size, options.hidden, first_map_[0] * first_map_[1] * first_map_[2])
                      .activation(options.activation)));
  // Mirror the encoder; output_padding restores odd sizes (7 -> 3 -> 7, not 6).
  for (std::size_t i = shapes.size() - 1; i >= 1; --i) {
    const auto& from = shapes[i];
    const auto& to = shapes[i - 1];
    const int64_t pad_h = to[1] - ((from[1] - 1) * 2 - 2 + 4), pad_w = to[2] - ((from[2] - 1) * 2 - 2 + 4);
    deconvs_.push_back(register_module(
        fmt::format("deconv{}", shapes.size() - 1 - i),
        torch::nn::ConvTranspose2d(
            torch::nn::ConvTranspose2dOptions(from[0], to[0], 4).stride(2).padding(1).output_padding({pad_h, pad_w}))));
  }
}

torch::Tensor ConvDecoderImpl::forward(const torch::Tensor& z) {
  const auto leading = z.sizes().slice(0, z.dim() - 1);
  auto y =
      activation_(head_->forward(z.reshape({-1, z.size(-1)}))).view({-1, first_map_[0], first_map_[1], first_map_[2]});
  for (std::size_t i = 0; i < deconvs_.size(); ++i) {
    y = deconvs_[i]->forward(y);
    if (i + 1 < deconvs_.size()) y = activation_(y);
  }
  return y.reshape(with_last(leading, image_shape_[0] * image_shape_[1] * image_shape_[2]));
}

torch::Tensor& ConvDecoderImpl::output_bias() { return deconvs_.back()->bias; }

}  // namespace dgm
