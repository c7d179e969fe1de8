#include "models/m2.h"

#include <torch/torch.h>

#include <cmath>

#include "core/error.h"

namespace dgm {

void check_m2_options(const M2Options& options, const std::string& where) {
  check_options(options, where);
  if (options.network == Network::kMlp && options.hidden.empty())
    fail("{}: model.hidden must list at least one layer width, e.g. [500]", where);
  if (options.network == Network::kConv && options.conv_channels.empty())
    fail("{}: model.conv_channels must list at least one layer, e.g. [32, 64]", where);
}

M2Impl::M2Impl(const M2Options& options, const DataShape& shape) : options_(options), shape_(shape) {
  check_m2_options(options, "M2Options");
  if (shape.dim <= 0) fail("an M2 model needs examples of at least one value, got {}", shape.dim);
  const std::vector<int64_t> reversed(options.hidden.rbegin(), options.hidden.rend());
  const int64_t k = options.classes, w = options.latent_dim;
  if (options.network == Network::kConv) {
    check_conv_pictures(shape.image_shape, shape.dim);
    ConvNetOptions nets{shape.image_shape, options.conv_channels, options.hidden, k, options.activation};
    conv_classifier_ = register_module("classifier", ConvEncoder(nets));
    nets.code_size = 0;  // the feature maps alone: y joins them in the dense layers
    encoder_features_ = register_module("encoder_features", ConvEncoder(nets));
    encoder_ = register_module(
        "encoder",
        Mlp(MlpOptions(encoder_features_->output_size() + k, options.hidden, 2 * w).activation(options.activation)));
    nets.hidden = reversed;
    nets.code_size = k + w;
    conv_decoder_ = register_module("decoder", ConvDecoder(nets));
  } else {
    classifier_ =
        register_module("classifier", Mlp(MlpOptions(shape.dim, options.hidden, k).activation(options.activation)));
    encoder_ = register_module("encoder",
                               Mlp(MlpOptions(shape.dim + k, options.hidden, 2 * w).activation(options.activation)));
    decoder_ = register_module("decoder", Mlp(MlpOptions(k + w, reversed, shape.dim).activation(options.activation)));
  }
  if (options.likelihood != Likelihood::kBernoulli) {
    // A Gaussian's log-variance, or a discretized logistic's log-scale (from
    // the variance's square root: a spread of the same order).
    const bool logistic = options.likelihood == Likelihood::kDiscretizedLogistic;
    auto initial = torch::full({shape.dim}, logistic ? 0.5 * std::log(options.variance) : std::log(options.variance));
    const char* name = logistic ? "log_scale" : "log_variance";
    log_variance_ = options.learn_variance ? register_parameter(name, initial) : register_buffer(name, initial);
  }
}

std::string M2Impl::describe() const {
  return fmt::format("M2 ({} -> {} classes x {} latent)", shape_.dim, options_.classes, options_.latent_dim);
}

torch::Tensor M2Impl::one_hot(const torch::Tensor& y) const {
  return torch::one_hot(y, options_.classes).to(parameters().front().dtype());
}

torch::Tensor M2Impl::class_log_prior() {
  return torch::full({options_.classes}, -std::log(static_cast<double>(options_.classes)),
                     parameters().front().options());
}

DiagNormal M2Impl::rest_prior(int64_t batch) {
  return DiagNormal::standard({batch}, options_.latent_dim, parameters().front().options());
}

std::shared_ptr<Distribution> M2Impl::prior(int64_t batch) {
  const auto options = parameters().front().options();
  const int64_t k = options_.classes;
  // One N(0, I) for every y: expanded, not copied.
  auto zeros = torch::zeros({1, 1, options_.latent_dim}, options).expand({k, batch, options_.latent_dim});
  return std::make_shared<ClassAndNormal>(torch::zeros({batch, k}, options), zeros, torch::ones_like(zeros));
}

torch::Tensor M2Impl::class_log_proposal(const torch::Tensor& x, const torch::Tensor& mask) {
  const auto seen = mask.defined() ? x * mask : x;
  return torch::log_softmax(conv_classifier_ ? conv_classifier_->forward(seen) : classifier_->forward(seen), -1);
}

torch::Tensor M2Impl::encoder_input(const torch::Tensor& x, const torch::Tensor& mask) {
  const auto seen = mask.defined() ? x * mask : x;
  return encoder_features_ ? encoder_features_->forward(seen) : seen;
}

DiagNormal M2Impl::rest_proposal_given(const torch::Tensor& x, const torch::Tensor& y, const torch::Tensor& mask) {
  auto parts = encoder_->forward_with_classes(encoder_input(x, mask), y, options_.classes).chunk(2, -1);
  return DiagNormal::from_log_var(parts[0], parts[1]);
}

DiagNormal M2Impl::rest_proposal(const torch::Tensor& x, const torch::Tensor& mask) {
  const int64_t k = options_.classes, batch = x.size(0);
  return rest_proposal_given(x, torch::arange(k, x.options().dtype(torch::kLong)).unsqueeze(1).expand({k, batch}),
                             mask);  // batch [K, B]
}

std::shared_ptr<Distribution> M2Impl::proposal(const torch::Tensor& x, const torch::Tensor& mask) {
  auto rest = rest_proposal(x, mask);
  return std::make_shared<ClassAndNormal>(class_log_proposal(x, mask), rest.loc(), rest.scale());
}

torch::Tensor M2Impl::decode(const torch::Tensor& y, const torch::Tensor& w) {
  auto code = torch::cat({one_hot(y), w}, -1);
  return conv_decoder_ ? conv_decoder_->forward(code) : decoder_->forward(code);
}

std::shared_ptr<Distribution> M2Impl::likelihood(const torch::Tensor& z) {
  return decoder_distribution(options_.likelihood, decode(class_of(z), rest_of(z)), log_variance_);
}

torch::Tensor M2Impl::log_likelihood_given_class(const torch::Tensor& x, const torch::Tensor& y, const torch::Tensor& w,
                                                 const torch::Tensor& mask) {
  return decoder_log_likelihood(options_.likelihood, decode(y, w), log_variance_, x, mask);
}

torch::Tensor M2Impl::log_likelihood(const torch::Tensor& x, const torch::Tensor& z, const torch::Tensor& mask) {
  return log_likelihood_given_class(x, class_of(z), rest_of(z), mask);
}

}  // namespace dgm
