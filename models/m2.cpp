#include "models/m2.h"

#include <torch/torch.h>

#include <cmath>

#include "core/error.h"

namespace dgm {

M2Impl::M2Impl(const M2Options& options, const DataShape& shape) : options_(options), shape_(shape) {
  check_options(options, "M2Options");
  if (shape.dim <= 0) fail("an M2 model needs examples of at least one value, got {}", shape.dim);
  if (options.hidden.empty()) fail("model.hidden must list at least one layer width, e.g. [500]");
  const std::vector<int64_t> reversed(options.hidden.rbegin(), options.hidden.rend());
  const int64_t k = options.classes, w = options.latent_dim;
  classifier_ =
      register_module("classifier", Mlp(MlpOptions(shape.dim, options.hidden, k).activation(options.activation)));
  encoder_ =
      register_module("encoder", Mlp(MlpOptions(shape.dim + k, options.hidden, 2 * w).activation(options.activation)));
  decoder_ = register_module("decoder", Mlp(MlpOptions(k + w, reversed, shape.dim).activation(options.activation)));
  if (options.likelihood == Likelihood::kGaussian) {
    auto initial = torch::full({shape.dim}, std::log(options.variance));
    log_variance_ =
        options.learn_variance ? register_parameter("log_variance", initial) : register_buffer("log_variance", initial);
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

std::shared_ptr<Distribution> M2Impl::prior(int64_t batch) {
  const auto options = parameters().front().options();
  const int64_t k = options_.classes;
  // One N(0, I) for every y: expanded, not copied.
  auto zeros = torch::zeros({1, 1, options_.latent_dim}, options).expand({k, batch, options_.latent_dim});
  return std::make_shared<ClassAndNormal>(torch::zeros({batch, k}, options), zeros, torch::ones_like(zeros));
}

torch::Tensor M2Impl::class_log_proposal(const torch::Tensor& x, const torch::Tensor& mask) {
  return torch::log_softmax(classifier_->forward(mask.defined() ? x * mask : x), -1);
}

DiagNormal M2Impl::rest_proposal(const torch::Tensor& x, const torch::Tensor& mask) {
  const int64_t k = options_.classes, batch = x.size(0);
  auto seen = (mask.defined() ? x * mask : x).unsqueeze(0).expand({k, batch, x.size(1)});
  auto codes = one_hot(torch::arange(k, x.options().dtype(torch::kLong))).unsqueeze(1).expand({k, batch, k});
  auto parts = encoder_->forward(torch::cat({seen, codes}, -1)).chunk(2, -1);  // [K, B, W] each
  return DiagNormal::from_log_var(parts[0], parts[1]);
}

std::shared_ptr<Distribution> M2Impl::proposal(const torch::Tensor& x, const torch::Tensor& mask) {
  auto rest = rest_proposal(x, mask);
  return std::make_shared<ClassAndNormal>(class_log_proposal(x, mask), rest.loc(), rest.scale());
}

torch::Tensor M2Impl::decode(const torch::Tensor& y, const torch::Tensor& w) {
  return decoder_->forward(torch::cat({one_hot(y), w}, -1));
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
