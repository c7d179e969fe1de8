#include "models/vae.h"

#include <torch/torch.h>

#include <cmath>

#include "core/error.h"

namespace dgm {

void check_vae_options(const VaeOptions& options, const std::string& where) {
  check_options(options, where);
  if (options.network == Network::kConv && options.conv_channels.empty())
    fail("{}: model.conv_channels must list at least one layer, e.g. [32, 64]", where);
  if (options.network == Network::kMlp && options.hidden.empty())
    fail("{}: model.hidden must list at least one layer width, e.g. [400]", where);
}

VaeImpl::VaeImpl(const VaeOptions& options, const DataShape& shape) : options_(options), shape_(shape) {
  check_vae_options(options, "VaeOptions");
  if (shape.dim <= 0) fail("a VAE needs examples of at least one value, got {}", shape.dim);
  std::vector<int64_t> reversed(options.hidden.rbegin(), options.hidden.rend());
  const int64_t latent = options.latent_dim;
  if (options.network == Network::kConv) {
    check_conv_pictures(shape.image_shape, shape.dim);
    ConvNetOptions nets{shape.image_shape, options.conv_channels, options.hidden, 2 * latent, options.activation};
    conv_encoder_ = register_module("encoder", ConvEncoder(nets));
    nets.hidden = reversed;
    nets.code_size = latent;
    conv_decoder_ = register_module("decoder", ConvDecoder(nets));
  } else {
    encoder_ = register_module("encoder",
                               Mlp(MlpOptions(shape.dim, options.hidden, 2 * latent).activation(options.activation)));
    decoder_ = register_module("decoder", Mlp(MlpOptions(latent, reversed, shape.dim).activation(options.activation)));
  }
  if (options.second_latent_dim > 0) {
    std::vector<int64_t> second_reversed(options.second_hidden.rbegin(), options.second_hidden.rend());
    upper_encoder_ = register_module(
        "upper_encoder",
        Mlp(MlpOptions(latent, options.second_hidden, 2 * options.second_latent_dim).activation(options.activation)));
    upper_decoder_ = register_module(
        "upper_decoder",
        Mlp(MlpOptions(options.second_latent_dim, second_reversed, 2 * latent).activation(options.activation)));
  }
  if (options.likelihood != Likelihood::kBernoulli) {
    // A Gaussian's log-variance, or a discretized logistic's log-scale (from
    // the variance's square root: a spread of the same order).
    const bool logistic = options.likelihood == Likelihood::kDiscretizedLogistic;
    auto initial = torch::full({shape.dim}, logistic ? 0.5 * std::log(options.variance) : std::log(options.variance));
    const char* name = logistic ? "log_scale" : "log_variance";
    if (options.learn_variance)
      log_variance_ = register_parameter(name, initial);
    else
      log_variance_ = register_buffer(name, initial);
  }
}

std::string VaeImpl::describe() const {
  const std::string latents = two_layers() ? fmt::format("{} -> {}", options_.latent_dim, options_.second_latent_dim)
                                           : fmt::format("{}", options_.latent_dim);
  return fmt::format("VAE ({} -> {} latent)", shape_.dim, latents);
}

namespace {

/// A network's output [..., 2 L] read as (mean, log-variance).
DiagNormal gaussian_from(const torch::Tensor& out) {
  auto parts = out.chunk(2, -1);
  return DiagNormal::from_log_var(parts[0], parts[1]);
}

}  // namespace

DiagNormal VaeImpl::encode(const torch::Tensor& x) {
  return gaussian_from(conv_encoder_ ? conv_encoder_->forward(x) : encoder_->forward(x));
}

torch::Tensor VaeImpl::decode(const torch::Tensor& z) {
  auto z1 = two_layers() ? z.narrow(-1, 0, options_.latent_dim) : z;
  return conv_decoder_ ? conv_decoder_->forward(z1) : decoder_->forward(z1);
}

std::shared_ptr<Distribution> VaeImpl::prior(int64_t batch) {
  auto options = parameters().front().options();
  if (!two_layers()) return std::make_shared<DiagNormal>(DiagNormal::standard({batch}, options_.latent_dim, options));
  // p(z2) = N(0, I), p(z1 | z2) from the upper decoder; z holds [z1, z2].
  auto upper = upper_decoder_;
  return std::make_shared<DiagNormalChain>(
      DiagNormal::standard({batch}, options_.second_latent_dim, options),
      [upper](const torch::Tensor& z2) mutable { return gaussian_from(upper->forward(z2)); }, options_.latent_dim,
      /*root_first=*/false);
}

std::shared_ptr<Distribution> VaeImpl::proposal(const torch::Tensor& x, const torch::Tensor& mask) {
  auto first = encode(mask.defined() ? x * mask : x);
  if (!two_layers()) return std::make_shared<DiagNormal>(first);
  auto upper = upper_encoder_;
  return std::make_shared<DiagNormalChain>(
      first, [upper](const torch::Tensor& z1) mutable { return gaussian_from(upper->forward(z1)); },
      options_.second_latent_dim, /*root_first=*/true);
}

void VaeImpl::initialize_from_data(const torch::Tensor& train_x) {
  if (options_.output_bias_from_data) init_output_bias(train_x.mean(0));
}

void VaeImpl::init_output_bias(const torch::Tensor& data_mean) {
  TORCH_CHECK(data_mean.numel() == shape_.dim, "init_output_bias: a mean of ", data_mean.numel(), " values for ",
              shape_.dim, " outputs");
  if (conv_decoder_)
    fail("model.output_bias_from_data needs model.network = mlp: a convolutional decoder has one bias per channel");
  torch::NoGradGuard no_grad;
  auto& bias = decoder_->output_bias();
  auto mean = data_mean.to(bias.options()).reshape_as(bias);
  if (options_.likelihood == Likelihood::kBernoulli) {
    auto p = mean.clamp(1e-3, 1 - 1e-3);
    bias.copy_(torch::log(p) - torch::log1p(-p));
  } else {
    bias.copy_(mean);
  }
}

std::shared_ptr<Distribution> VaeImpl::likelihood(const torch::Tensor& z) {
  return decoder_distribution(options_.likelihood, decode(z), log_variance_);
}

torch::Tensor VaeImpl::log_likelihood(const torch::Tensor& x, const torch::Tensor& z, const torch::Tensor& mask) {
  return decoder_log_likelihood(options_.likelihood, decode(z), log_variance_, x, mask);
}

}  // namespace dgm
