#include "models/vae.h"

#include <torch/torch.h>

#include <cmath>

#include "core/config.h"
#include "core/error.h"

namespace dgm {

VaeOptions VaeOptions::from_config(const ModelConfig& config, int64_t data_dim, std::vector<int64_t> image_shape) {
  if (config.type != "vae") fail("model.type '{}' is not a VAE", config.type);
  return VaeOptions(data_dim, config.latent_dim)
      .hidden(config.hidden)
      .activation(config.activation)
      .likelihood(config.likelihood)
      .learn_variance(config.learn_variance)
      .variance(config.variance)
      .second_latent_dim(config.second_latent_dim)
      .second_hidden(config.second_hidden)
      .network(config.network)
      .conv_channels(config.conv_channels)
      .image_shape(std::move(image_shape));
}

VaeImpl::VaeImpl(const VaeOptions& options) : options_(options) {
  TORCH_CHECK(options.data_dim() > 0 && options.latent_dim() > 0, "VAE needs positive sizes, got data_dim ",
              options.data_dim(), " latent_dim ", options.latent_dim());
  if (options.likelihood() != "bernoulli" && options.likelihood() != "gaussian")
    fail("unknown likelihood '{}': use bernoulli or gaussian", options.likelihood());
  TORCH_CHECK(options.variance() > 0, "Invalid Gaussian variance: ", options.variance());
  std::vector<int64_t> reversed(options.hidden().rbegin(), options.hidden().rend());
  if (options.network() == "conv") {
    int64_t pixels = 1;
    for (const auto size : options.image_shape()) pixels *= size;
    if (options.image_shape().empty() || pixels != options.data_dim())
      fail(
          "model.network = conv needs pictures, but the examples are {} values without a picture shape; use "
          "model.network=mlp",
          options.data_dim());
    ConvNetOptions nets{options.image_shape(), options.conv_channels(), options.hidden(), 2 * options.latent_dim(),
                        options.activation()};
    conv_encoder_ = register_module("encoder", ConvEncoder(nets));
    nets.hidden = reversed;
    nets.code_size = options.latent_dim();
    conv_decoder_ = register_module("decoder", ConvDecoder(nets));
  } else if (options.network() == "mlp") {
    encoder_ = register_module("encoder", Mlp(MlpOptions(options.data_dim(), options.hidden(), 2 * options.latent_dim())
                                                  .activation(options.activation())));
    decoder_ = register_module(
        "decoder",
        Mlp(MlpOptions(options.latent_dim(), reversed, options.data_dim()).activation(options.activation())));
  } else {
    fail("unknown model.network '{}': use mlp or conv", options.network());
  }
  if (options.second_latent_dim() > 0) {
    std::vector<int64_t> second_reversed(options.second_hidden().rbegin(), options.second_hidden().rend());
    upper_encoder_ = register_module(
        "upper_encoder", Mlp(MlpOptions(options.latent_dim(), options.second_hidden(), 2 * options.second_latent_dim())
                                 .activation(options.activation())));
    upper_decoder_ = register_module(
        "upper_decoder", Mlp(MlpOptions(options.second_latent_dim(), second_reversed, 2 * options.latent_dim())
                                 .activation(options.activation())));
  }
  if (options.likelihood() == "gaussian") {
    auto initial = torch::full({options.data_dim()}, std::log(options.variance()));
    if (options.learn_variance())
      log_variance_ = register_parameter("log_variance", initial);
    else
      log_variance_ = register_buffer("log_variance", initial);
  }
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
  auto z1 = two_layers() ? z.narrow(-1, 0, options_.latent_dim()) : z;
  return conv_decoder_ ? conv_decoder_->forward(z1) : decoder_->forward(z1);
}

std::shared_ptr<Distribution> VaeImpl::prior(int64_t batch) {
  auto options = parameters().front().options();
  if (!two_layers()) return std::make_shared<DiagNormal>(DiagNormal::standard({batch}, options_.latent_dim(), options));
  // p(z2) = N(0, I), p(z1 | z2) from the upper decoder; z holds [z1, z2].
  auto upper = upper_decoder_;
  return std::make_shared<DiagNormalChain>(
      DiagNormal::standard({batch}, options_.second_latent_dim(), options),
      [upper](const torch::Tensor& z2) mutable { return gaussian_from(upper->forward(z2)); }, options_.latent_dim(),
      /*root_first=*/false);
}

std::shared_ptr<Distribution> VaeImpl::proposal(const torch::Tensor& x, const torch::Tensor& mask) {
  auto first = encode(mask.defined() ? x * mask : x);
  if (!two_layers()) return std::make_shared<DiagNormal>(first);
  auto upper = upper_encoder_;
  return std::make_shared<DiagNormalChain>(
      first, [upper](const torch::Tensor& z1) mutable { return gaussian_from(upper->forward(z1)); },
      options_.second_latent_dim(), /*root_first=*/true);
}

void VaeImpl::init_output_bias(const torch::Tensor& data_mean) {
  TORCH_CHECK(data_mean.numel() == options_.data_dim(), "init_output_bias: a mean of ", data_mean.numel(),
              " values for ", options_.data_dim(), " outputs");
  if (conv_decoder_)
    fail("model.output_bias_from_data needs model.network = mlp: a convolutional decoder has one bias per channel");
  torch::NoGradGuard no_grad;
  auto& bias = decoder_->output_bias();
  auto mean = data_mean.to(bias.options()).reshape_as(bias);
  if (options_.likelihood() == "bernoulli") {
    auto p = mean.clamp(1e-3, 1 - 1e-3);
    bias.copy_(torch::log(p) - torch::log1p(-p));
  } else {
    bias.copy_(mean);
  }
}

std::shared_ptr<Distribution> VaeImpl::likelihood(const torch::Tensor& z) {
  auto out = decode(z);
  if (options_.likelihood() == "bernoulli") return std::make_shared<Bernoulli>(out);
  return std::make_shared<DiagNormal>(DiagNormal::from_log_var(out, log_variance_.expand_as(out)));
}

torch::Tensor VaeImpl::log_likelihood(const torch::Tensor& x, const torch::Tensor& z, const torch::Tensor& mask) {
  auto out = decode(z);
  torch::Tensor elements;
  if (options_.likelihood() == "bernoulli") {
    elements = Bernoulli(out).log_prob_elements(x);
  } else {
    elements = DiagNormal::from_log_var(out, log_variance_.expand_as(out)).log_prob_elements(x);
  }
  if (mask.defined()) elements = elements * mask;
  return elements.sum(-1);
}

}  // namespace dgm
