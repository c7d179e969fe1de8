#include "core/distributions.h"

#include <torch/torch.h>

#include <cmath>

#include "core/error.h"

namespace dgm {
namespace {

constexpr double kHalfLog2Pi = 0.91893853320467274178;  // 0.5 * log(2 pi)

std::vector<int64_t> with_samples(int64_t n, torch::IntArrayRef shape) {
  std::vector<int64_t> out{n};
  out.insert(out.end(), shape.begin(), shape.end());
  return out;
}

}  // namespace

torch::Tensor Distribution::rsample(int64_t) const {
  fail("{} has no reparameterized sampler; use sample() and a score-function estimator", name());
}

torch::Tensor Distribution::from_noise(const torch::Tensor&) const {
  fail("{} is not a transform of normal noise; draw it with sample()", name());
}

torch::Tensor Distribution::entropy() const { fail("{} has no closed-form entropy", name()); }

torch::Tensor Distribution::mean() const { fail("{} has no mean in its value space", name()); }

// ---- DiagNormal ----

DiagNormal::DiagNormal(torch::Tensor loc, torch::Tensor scale) : DiagNormal(loc, scale, torch::log(scale)) {}

DiagNormal::DiagNormal(torch::Tensor loc, torch::Tensor scale, torch::Tensor log_scale, bool standard)
    : loc_(std::move(loc)), scale_(std::move(scale)), log_scale_(std::move(log_scale)), standard_(standard) {
  TORCH_CHECK(loc_.dim() >= 1, "DiagNormal needs loc with an event dimension, got shape ", loc_.sizes());
  TORCH_CHECK(loc_.sizes() == scale_.sizes(), "DiagNormal loc ", loc_.sizes(), " and scale ", scale_.sizes(),
              " differ in shape");
}

DiagNormal DiagNormal::from_log_var(const torch::Tensor& loc, const torch::Tensor& log_var) {
  auto log_scale = 0.5 * log_var;
  return DiagNormal(loc, torch::exp(log_scale), log_scale);
}

DiagNormal DiagNormal::standard(torch::IntArrayRef batch, int64_t dim, const torch::TensorOptions& options) {
  std::vector<int64_t> shape(batch.begin(), batch.end());
  shape.push_back(dim);
  // Broadcast views of two scalars: the prior costs no memory per example.
  auto zeros = torch::zeros({1}, options).expand(shape);
  return DiagNormal(zeros, torch::ones({1}, options).expand(shape), zeros, /*standard=*/true);
}

torch::Tensor DiagNormal::sample(int64_t n) const {
  torch::NoGradGuard no_grad;
  return rsample(n);
}

torch::Tensor DiagNormal::rsample(int64_t n) const {
  return from_noise(torch::randn(with_samples(n, loc_.sizes()), loc_.options()));
}

torch::Tensor DiagNormal::from_noise(const torch::Tensor& eps) const { return loc_ + scale_ * eps; }

torch::Tensor DiagNormal::log_prob_elements(const torch::Tensor& value) const {
  auto standardized = (value - loc_) / scale_;
  return -0.5 * standardized.pow(2) - log_scale_ - kHalfLog2Pi;
}

torch::Tensor DiagNormal::log_prob(const torch::Tensor& value) const { return log_prob_elements(value).sum(-1); }

torch::Tensor DiagNormal::entropy() const { return (0.5 + kHalfLog2Pi + log_scale_).sum(-1); }

// ---- Bernoulli ----

Bernoulli::Bernoulli(torch::Tensor logits) : logits_(std::move(logits)) {
  TORCH_CHECK(logits_.dim() >= 1, "Bernoulli needs logits with an event dimension, got shape ", logits_.sizes());
}

torch::Tensor Bernoulli::probs() const { return torch::sigmoid(logits_); }

torch::Tensor Bernoulli::sample(int64_t n) const {
  torch::NoGradGuard no_grad;
  return torch::bernoulli(probs().expand(with_samples(n, logits_.sizes())));
}

torch::Tensor Bernoulli::log_prob_elements(const torch::Tensor& value) const {
  // log p(v) = v * l - log(1 + e^l): the negated binary cross-entropy with
  // logits, whose fused kernel is stable for any |l|.
  auto shape = at::infer_size(value.sizes(), logits_.sizes());
  return -torch::binary_cross_entropy_with_logits(logits_.expand(shape), value.expand(shape), {}, {},
                                                  at::Reduction::None);
}

torch::Tensor Bernoulli::log_prob(const torch::Tensor& value) const { return log_prob_elements(value).sum(-1); }

torch::Tensor Bernoulli::entropy() const {
  return (torch::softplus(logits_) - logits_ * torch::sigmoid(logits_)).sum(-1);
}

// ---- DiscretizedLogistic ----

DiscretizedLogistic::DiscretizedLogistic(torch::Tensor mean, torch::Tensor log_scale, int64_t levels)
    : location_(std::move(mean)), log_scale_(std::move(log_scale)), levels_(levels) {
  TORCH_CHECK(levels_ >= 2, "a discretized logistic needs at least 2 levels");
}

torch::Tensor DiscretizedLogistic::sample(int64_t n) const {
  torch::NoGradGuard no_grad;
  auto shape = location_.sizes().vec();
  shape.insert(shape.begin(), n);
  // Inverse CDF of the logistic: mu + s (log u - log(1 - u)), then the bin it falls in.
  auto u = torch::rand(shape, location_.options()).clamp_(1e-6, 1 - 1e-6);
  auto value = location_ + torch::exp(log_scale_) * (torch::log(u) - torch::log1p(-u));
  const double top = static_cast<double>(levels_ - 1);
  return value.mul(top).round_().clamp_(0.0, top).div_(top);
}

torch::Tensor DiscretizedLogistic::log_prob_elements(const torch::Tensor& value) const {
  const double half_bin = 0.5 / static_cast<double>(levels_ - 1);
  const auto inverse_scale = torch::exp(-log_scale_);
  const auto centred = value - location_;
  const auto upper = inverse_scale * (centred + half_bin), lower = inverse_scale * (centred - half_bin);
  const auto middle = inverse_scale * centred;
  // log(sigma(upper) - sigma(lower)) as log sigma(hi) + log(1 - e^(log sigma(lo) - log sigma(hi))),
  // on the side of the location where both sigmas are small (sigma(-lower) -
  // sigma(-upper) above it), with expm1 for the bracket: full precision in
  // float32 and float64 alike, however small the bin's mass. The clamp keeps
  // the branch torch::where does not take from sending a NaN gradient back.
  auto log_sigmoid = [](const torch::Tensor& t) { return -torch::softplus(-t); };
  auto log_difference = [](const torch::Tensor& log_hi, const torch::Tensor& log_lo) {
    return log_hi + torch::log((-torch::expm1(log_lo - log_hi)).clamp_min(1e-30));
  };
  const auto inner = torch::where(middle > 0, log_difference(log_sigmoid(-lower), log_sigmoid(-upper)),
                                  log_difference(log_sigmoid(upper), log_sigmoid(lower)));
  const auto lowest = upper - torch::softplus(upper);  // log sigma(upper): the bin reaches to -inf
  const auto highest = -torch::softplus(lower);        // log(1 - sigma(lower)): to +inf
  return torch::where(value < half_bin, lowest, torch::where(value > 1.0 - half_bin, highest, inner));
}

torch::Tensor DiscretizedLogistic::log_prob(const torch::Tensor& value) const {
  return log_prob_elements(value).sum(-1);
}

// ---- Categorical ----

Categorical::Categorical(torch::Tensor logits) : log_probs_(torch::log_softmax(logits, -1)) {
  TORCH_CHECK(log_probs_.dim() >= 1, "Categorical needs logits [*batch, K]");
}

torch::Tensor Categorical::sample(int64_t n) const {
  torch::NoGradGuard no_grad;
  const int64_t k = log_probs_.size(-1);
  auto flat = log_probs_.exp().reshape({-1, k});
  auto draws = torch::multinomial(flat, n, /*replacement=*/true);  // [prod(batch), n]
  auto batch = log_probs_.sizes().slice(0, log_probs_.dim() - 1);
  return draws.t().reshape(with_samples(n, batch));
}

torch::Tensor Categorical::log_prob(const torch::Tensor& value) const {
  // value [..., *batch] of class indices; broadcast the table over leading dims.
  auto batch = log_probs_.sizes().slice(0, log_probs_.dim() - 1);
  auto shape = at::infer_size(value.sizes(), batch);
  std::vector<int64_t> table_shape(shape.begin(), shape.end());
  table_shape.push_back(log_probs_.size(-1));
  return log_probs_.expand(table_shape).gather(-1, value.expand(shape).unsqueeze(-1)).squeeze(-1);
}

torch::Tensor Categorical::entropy() const { return -(log_probs_.exp() * log_probs_).sum(-1); }

// ---- MultivariateNormal ----

MultivariateNormal::MultivariateNormal(torch::Tensor loc, torch::Tensor scale_tril)
    : loc_(std::move(loc)), scale_tril_(std::move(scale_tril)) {
  TORCH_CHECK(loc_.dim() >= 1 && scale_tril_.dim() >= 2 && scale_tril_.size(-1) == loc_.size(-1) &&
                  scale_tril_.size(-2) == loc_.size(-1),
              "MultivariateNormal needs loc [*, D] and scale_tril [*, D, D], got ", loc_.sizes(), " and ",
              scale_tril_.sizes());
}

torch::Tensor MultivariateNormal::sample(int64_t n) const {
  torch::NoGradGuard no_grad;
  return rsample(n);
}

torch::Tensor MultivariateNormal::rsample(int64_t n) const {
  return from_noise(torch::randn(with_samples(n, loc_.sizes()), loc_.options()));
}

torch::Tensor MultivariateNormal::from_noise(const torch::Tensor& eps) const {
  return loc_ + torch::matmul(scale_tril_, eps.unsqueeze(-1)).squeeze(-1);
}

torch::Tensor MultivariateNormal::log_prob(const torch::Tensor& value) const {
  // -1/2 |L^{-1}(v - m)|^2 - sum log diag L - D/2 log 2 pi, by a triangular solve.
  auto diff = (value - loc_).unsqueeze(-1);  // [..., D, 1]
  auto batch =
      at::infer_size(diff.sizes().slice(0, diff.dim() - 2), scale_tril_.sizes().slice(0, scale_tril_.dim() - 2));
  std::vector<int64_t> matrix_shape(batch.begin(), batch.end()), vector_shape(batch.begin(), batch.end());
  const int64_t d = loc_.size(-1);
  matrix_shape.insert(matrix_shape.end(), {d, d});
  vector_shape.insert(vector_shape.end(), {d, 1});
  auto solved = torch::linalg_solve_triangular(scale_tril_.expand(matrix_shape), diff.expand(vector_shape),
                                               /*upper=*/false);
  auto mahalanobis = solved.squeeze(-1).pow(2).sum(-1);
  auto half_log_det = scale_tril_.diagonal(0, -2, -1).log().sum(-1);
  return -0.5 * mahalanobis - half_log_det - static_cast<double>(loc_.size(-1)) * kHalfLog2Pi;
}

torch::Tensor MultivariateNormal::entropy() const {
  auto half_log_det = scale_tril_.diagonal(0, -2, -1).log().sum(-1);
  const double d = static_cast<double>(loc_.size(-1));
  return (d * (0.5 + kHalfLog2Pi) + half_log_det).expand(loc_.sizes().slice(0, loc_.dim() - 1));
}

// ---- FiniteUniform ----

FiniteUniform::FiniteUniform(int64_t size, int64_t batch, ValuesOf values_of, torch::TensorOptions options)
    : size_(size), batch_(batch), values_of_(std::move(values_of)), options_(options) {
  TORCH_CHECK(size_ > 0, "FiniteUniform over an empty set");
}

torch::Tensor FiniteUniform::sample(int64_t n) const {
  torch::NoGradGuard no_grad;
  auto indices = torch::randint(size_, {n, batch_}, options_.dtype(torch::kLong));
  return values_of_(indices);
}

torch::Tensor FiniteUniform::log_prob(const torch::Tensor& value) const {
  // Every value of the set has mass 1/K; the event dimensions are whatever
  // values_of adds to the index shape.
  auto probe = values_of_(torch::zeros({1}, options_.dtype(torch::kLong)));
  const int64_t event_dims = probe.dim() - 1;
  auto batch_shape = value.sizes().slice(0, value.dim() - event_dims);
  return torch::full(batch_shape, -std::log(static_cast<double>(size_)), options_);
}

torch::Tensor FiniteUniform::entropy() const {
  return torch::full({batch_}, std::log(static_cast<double>(size_)), options_);
}

DiagNormalChain::DiagNormalChain(DiagNormal root, Conditional conditional, int64_t conditional_dim, bool root_first)
    : root_(std::move(root)),
      conditional_(std::move(conditional)),
      root_dim_(root_.loc().size(-1)),
      conditional_dim_(conditional_dim),
      root_first_(root_first) {
  TORCH_CHECK(conditional_dim_ > 0, "DiagNormalChain needs a conditional block of positive size");
}

torch::Tensor DiagNormalChain::join(const torch::Tensor& a, const torch::Tensor& b) const {
  return root_first_ ? torch::cat({a, b}, -1) : torch::cat({b, a}, -1);
}

torch::Tensor DiagNormalChain::rsample(int64_t n) const {
  auto a = root_.rsample(n);                       // [n, *batch, Da]
  auto b = conditional_(a).rsample(1).squeeze(0);  // one b per a
  return join(a, b);
}

torch::Tensor DiagNormalChain::from_noise(const torch::Tensor& eps) const {
  TORCH_CHECK(eps.size(-1) == root_dim_ + conditional_dim_, "DiagNormalChain: noise of size ", eps.size(-1));
  auto a = root_.from_noise(eps.narrow(-1, 0, root_dim_));
  auto b = conditional_(a).from_noise(eps.narrow(-1, root_dim_, conditional_dim_));
  return join(a, b);
}

torch::Tensor DiagNormalChain::sample(int64_t n) const {
  torch::NoGradGuard no_grad;
  return rsample(n);
}

torch::Tensor DiagNormalChain::log_prob(const torch::Tensor& value) const {
  const int64_t total = value.size(-1);
  TORCH_CHECK(total == root_dim_ + conditional_dim_, "DiagNormalChain: a value of size ", total, " where ",
              root_dim_ + conditional_dim_, " is expected");
  auto a = value.narrow(-1, root_first_ ? 0 : conditional_dim_, root_dim_);
  auto b = value.narrow(-1, root_first_ ? root_dim_ : 0, conditional_dim_);
  return root_.log_prob(a) + conditional_(a).log_prob(b);
}

torch::Tensor DiagNormalChain::mean() const {
  auto a = root_.mean();
  return join(a, conditional_(a).mean());
}

std::shared_ptr<Distribution> widen(const Distribution& distribution, double factor) {
  if (!(factor > 0) || !std::isfinite(factor)) fail("a proposal can only be widened by a factor > 0, not {}", factor);
  if (auto normal = dynamic_cast<const DiagNormal*>(&distribution))
    return std::make_shared<DiagNormal>(normal->loc(), normal->scale() * factor);
  if (auto mvn = dynamic_cast<const MultivariateNormal*>(&distribution))
    return std::make_shared<MultivariateNormal>(mvn->loc(), mvn->scale_tril() * factor);
  fail("a {} proposal cannot be widened: widening needs a Gaussian proposal", distribution.name());
}

// ---- KL ----

std::optional<torch::Tensor> kl_divergence_elements(const Distribution& q, const Distribution& p) {
  if (auto qn = dynamic_cast<const DiagNormal*>(&q)) {
    if (auto pn = dynamic_cast<const DiagNormal*>(&p)) {
      if (pn->is_standard())  // KL(q || N(0, I)) = 1/2 (s^2 + m^2 - 1) - log s
        return 0.5 * (qn->scale().pow(2) + qn->loc().pow(2) - 1.0) - qn->log_scale();
      auto var_ratio = (qn->scale() / pn->scale()).pow(2);
      auto mean_term = ((qn->loc() - pn->loc()) / pn->scale()).pow(2);
      return 0.5 * (var_ratio + mean_term - 1.0) - (qn->log_scale() - pn->log_scale());
    }
  }
  if (auto qb = dynamic_cast<const Bernoulli*>(&q)) {
    if (auto pb = dynamic_cast<const Bernoulli*>(&p)) {
      // log sigmoid(l) = -softplus(-l), log(1 - sigmoid(l)) = -softplus(l).
      auto pq = qb->probs();
      auto lq1 = -torch::softplus(-qb->logits()), lq0 = -torch::softplus(qb->logits());
      auto lp1 = -torch::softplus(-pb->logits()), lp0 = -torch::softplus(pb->logits());
      return pq * (lq1 - lp1) + (1 - pq) * (lq0 - lp0);
    }
  }
  return std::nullopt;
}

std::optional<torch::Tensor> kl_divergence(const Distribution& q, const Distribution& p) {
  if (auto elements = kl_divergence_elements(q, p)) return elements->sum(-1);
  if (auto qc = dynamic_cast<const Categorical*>(&q)) {
    if (auto pc = dynamic_cast<const Categorical*>(&p)) {
      return (qc->log_probs().exp() * (qc->log_probs() - pc->log_probs())).sum(-1);
    }
  }
  return std::nullopt;
}

}  // namespace dgm
