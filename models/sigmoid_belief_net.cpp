#include "models/sigmoid_belief_net.h"

#include <torch/torch.h>

#include "core/error.h"
#include "core/numerics.h"

namespace dgm {

SigmoidBeliefNetImpl::SigmoidBeliefNetImpl(const SigmoidBeliefNetOptions& options, const DataShape& shape)
    : options_(options), data_dim_(shape.dim) {
  if (options.latent_dim > 62) fail("a sigmoid belief net has at most 62 latent units, not {}", options.latent_dim);
  check_options(options, "SigmoidBeliefNetOptions");
  if (shape.dim <= 0) fail("a sigmoid belief net needs examples of at least one value, got {}", shape.dim);
  prior_logits_ = register_parameter("prior_logits", torch::zeros({options.latent_dim}));
  decoder_ = register_module("decoder", torch::nn::Linear(options.latent_dim, shape.dim));
}

std::string SigmoidBeliefNetImpl::describe() const {
  return fmt::format("sigmoid belief net ({} binary latents, {} pixels)", options_.latent_dim, data_dim_);
}

std::shared_ptr<Distribution> SigmoidBeliefNetImpl::prior(int64_t batch) {
  return std::make_shared<Bernoulli>(prior_logits_.expand({batch, options_.latent_dim}));
}

std::shared_ptr<Distribution> SigmoidBeliefNetImpl::likelihood(const torch::Tensor& z) {
  return std::make_shared<Bernoulli>(decoder_->forward(z));
}

torch::Tensor SigmoidBeliefNetImpl::log_likelihood(const torch::Tensor& x, const torch::Tensor& z,
                                                   const torch::Tensor& mask) {
  if (z.dim() == 3 && z.size(1) > 1 && z.stride(1) == 0) {
    // The same configurations for every example, as when enumerating: with
    // logits l(z) [C, D], log p(x | z) = x . l(z) - sum_d softplus(l_d(z)) is
    // two matrix products instead of C x B x D elementwise terms.
    auto logits = decoder_->forward(z.select(1, 0));  // [C, D]
    auto observed = mask.defined() ? mask.to(x.dtype()) : torch::ones_like(x);
    return torch::matmul(x * observed, logits.t()).t() - torch::matmul(observed, torch::softplus(logits).t()).t();
  }
  auto elements = Bernoulli(decoder_->forward(z)).log_prob_elements(x);
  if (mask.defined()) elements = elements * mask;
  return elements.sum(-1);
}

int64_t SigmoidBeliefNetImpl::latent_support_size() const { return int64_t{1} << options_.latent_dim; }

torch::Tensor SigmoidBeliefNetImpl::latent_values(const torch::Tensor& indices) const {
  auto bits = torch::arange(options_.latent_dim, indices.options());
  return indices.unsqueeze(-1).bitwise_right_shift(bits).bitwise_and(1).to(prior_logits_.dtype());
}

std::shared_ptr<Distribution> SigmoidBeliefNetImpl::proposal(const torch::Tensor& x, const torch::Tensor& mask) {
  torch::NoGradGuard no_grad;
  const int64_t size = latent_support_size(), batch = x.size(0);
  if (size > kMaxEnumeration)
    fail(
        "the sigmoid belief net's proposal enumerates its 2^{} latent configurations, over the limit of {}; "
        "use --proposal prior (or uniform)",
        options_.latent_dim, kMaxEnumeration);
  // log p(z_j = 1, x) and log p(x), accumulated over chunks of configurations.
  LogSumExpAccumulator ones, all;
  for (int64_t start = 0; start < size; start += options_.enumeration_chunk) {
    auto indices =
        torch::arange(start, std::min(size, start + options_.enumeration_chunk), x.options().dtype(torch::kLong));
    auto z = latent_values(indices);                                                        // [c, d]
    auto joint = log_joint(x, z.unsqueeze(1).expand({z.size(0), batch, z.size(1)}), mask);  // [c, B]
    all.add(joint);
    ones.add(joint.unsqueeze(-1) + torch::log(z).unsqueeze(1));  // log 0 = -inf drops z_j = 0
  }
  auto log_marginal = all.log_sum_exp().unsqueeze(-1);
  auto log_p1 = torch::clamp_max(ones.log_sum_exp() - log_marginal, 0.0);
  // logit p = log p - log(1 - p), clamped away from 0 and 1 so that q covers every z.
  auto log_p0 = torch::log1p(-torch::exp(log_p1));
  auto logits = torch::clamp(log_p1 - log_p0, -15.0, 15.0);
  return std::make_shared<Bernoulli>(logits);
}

}  // namespace dgm
