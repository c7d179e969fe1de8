// p(y | x) by the seed's sum over y (estimators/class_sum.h) against the
// exact posterior of a model where it is known: a mixture of probabilistic
// PCAs, p(y) = pi, p(w) = N(0, I), p(x | y, w) = N(A_y w + b_y, s^2 I), so
// that p(x | y) = N(b_y, A_y A_y^T + s^2 I) in closed form.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "core/error.h"
#include "core/random.h"
#include "estimators/ais.h"
#include "estimators/class_sum.h"
#include "estimators/classification.h"
#include "estimators/registry.h"
#include "models/class_latent.h"
#include "test_support.h"

namespace dgm {
namespace {

using test::kF64;

class PpcaMixture : public LatentVariableModel, public ClassLatentModel {
 public:
  PpcaMixture(int64_t classes, int64_t d, int64_t w, double noise, uint64_t seed) : noise_(noise) {
    torch::manual_seed(seed);
    log_pi_ = torch::log_softmax(torch::randn({classes}, kF64), 0);
    a_ = torch::randn({classes, d, w}, kF64) * 0.8;
    b_ = torch::randn({classes, d}, kF64) * 1.5;
  }
  // The LatentVariableModel side: z = (y, w).
  std::shared_ptr<Distribution> prior(int64_t batch) override {
    auto zeros = torch::zeros({classes(), batch, rest_dim()}, kF64);
    return std::make_shared<ClassAndNormal>(log_pi_.expand({batch, classes()}), zeros, torch::ones_like(zeros));
  }
  std::shared_ptr<Distribution> proposal(const torch::Tensor& x, const torch::Tensor& mask = {}) override {
    auto rest = rest_proposal(x, mask);
    return std::make_shared<ClassAndNormal>(class_log_proposal(x, mask), rest.loc(), rest.scale());
  }
  std::shared_ptr<Distribution> likelihood(const torch::Tensor& z) override {
    auto mean = mean_of(class_of(z), rest_of(z));
    return std::make_shared<DiagNormal>(mean, torch::full_like(mean, std::sqrt(noise_)));
  }
  torch::Tensor log_likelihood(const torch::Tensor& x, const torch::Tensor& z, const torch::Tensor& mask) override {
    return log_likelihood_given_class(x, class_of(z), rest_of(z), mask);
  }
  int64_t data_dim() const override { return b_.size(1); }
  int64_t latent_dim() const override { return 1 + rest_dim(); }
  // The ClassLatentModel side.
  int64_t classes() const override { return b_.size(0); }
  torch::Tensor class_log_prior() override { return log_pi_; }
  DiagNormal rest_prior(int64_t batch) override { return DiagNormal::standard({batch}, rest_dim(), kF64); }
  /// A deliberately rough classifier: uniform.
  torch::Tensor class_log_proposal(const torch::Tensor& x, const torch::Tensor& = {}) override {
    return torch::full({x.size(0), classes()}, -std::log(static_cast<double>(classes())), kF64);
  }
  /// Near, not at, the posterior of w given the observed part of x and y: its
  /// mean, and its marginal standard deviations widened by 1.3 (correlations
  /// left out).
  DiagNormal rest_proposal(const torch::Tensor& x, const torch::Tensor& mask = {}) override {
    auto loc = torch::empty({classes(), x.size(0), rest_dim()}, kF64), scale = torch::empty_like(loc);
    for (int64_t y = 0; y < classes(); ++y) {
      for (int64_t i = 0; i < x.size(0); ++i) {
        auto seen = mask.defined() ? mask[i].nonzero().flatten() : torch::arange(x.size(1));
        auto a = a_[y].index_select(0, seen);
        auto covariance = torch::inverse(torch::eye(rest_dim(), kF64) + torch::matmul(a.t(), a) / noise_);
        loc[y][i] = torch::matmul(covariance, torch::matmul(a.t(), (x[i] - b_[y]).index_select(0, seen))) / noise_;
        scale[y][i] = 1.3 * covariance.diagonal().sqrt();
      }
    }
    return DiagNormal(loc, scale);
  }
  torch::Tensor log_likelihood_given_class(const torch::Tensor& x, const torch::Tensor& y, const torch::Tensor& w,
                                           const torch::Tensor& mask = {}) override {
    auto mean = mean_of(y, w);
    auto elements = DiagNormal(mean, torch::full_like(mean, std::sqrt(noise_))).log_prob_elements(x);
    return (mask.defined() ? elements * mask : elements).sum(-1);
  }
  /// The exact log p(x, y) [B, K] of the observed entries.
  torch::Tensor exact_log_joint(const torch::Tensor& x, const torch::Tensor& mask = {}) const {
    std::vector<torch::Tensor> columns;
    for (int64_t y = 0; y < b_.size(0); ++y) {
      auto covariance = torch::matmul(a_[y], a_[y].t()) + noise_ * torch::eye(b_.size(1), kF64);
      std::vector<torch::Tensor> rows;
      for (int64_t i = 0; i < x.size(0); ++i) {
        auto seen = mask.defined() ? mask[i].nonzero().flatten() : torch::arange(x.size(1));
        auto c = covariance.index_select(0, seen).index_select(1, seen);
        auto diff = (x[i] - b_[y]).index_select(0, seen);
        auto l = torch::linalg_cholesky(c);
        auto solved = torch::linalg_solve_triangular(l, diff.unsqueeze(1), /*upper=*/false);
        rows.push_back(-0.5 * solved.pow(2).sum() - l.diagonal().log().sum() - 0.5 * seen.numel() * std::log(2 * M_PI) +
                       log_pi_[y]);
      }
      columns.push_back(torch::stack(rows));
    }
    return torch::stack(columns, -1);
  }
  /// n draws of (x, z) from the model, z = (y, w) as one row [n, 1 + W].
  std::pair<torch::Tensor, torch::Tensor> simulate(int64_t n) {
    auto y = torch::multinomial(log_pi_.exp(), n, true);
    auto w = torch::randn({n, rest_dim()}, kF64);
    auto x = mean_of(y, w) + std::sqrt(noise_) * torch::randn({n, data_dim()}, kF64);
    return {x, torch::cat({y.to(kF64).unsqueeze(1), w}, 1)};
  }
  /// n draws of (y, x) from the model.
  std::pair<torch::Tensor, torch::Tensor> draw(int64_t n) {
    auto y = torch::multinomial(log_pi_.exp(), n, true);
    auto w = torch::randn({n, rest_dim()}, kF64);
    auto x = mean_of(y, w) + std::sqrt(noise_) * torch::randn({n, data_dim()}, kF64);
    return {y, x};
  }

 private:
  int64_t rest_dim() const { return a_.size(2); }
  /// A_y w + b_y for y [...] and w [..., W]: [..., D].
  torch::Tensor mean_of(const torch::Tensor& y, const torch::Tensor& w) const {
    auto a = a_.index_select(0, y.flatten()).view([&] {
      std::vector<int64_t> s(y.sizes().begin(), y.sizes().end());
      s.insert(s.end(), {a_.size(1), a_.size(2)});
      return s;
    }());
    auto b = b_.index_select(0, y.flatten()).view([&] {
      std::vector<int64_t> s(y.sizes().begin(), y.sizes().end());
      s.push_back(b_.size(1));
      return s;
    }());
    return torch::matmul(a, w.unsqueeze(-1)).squeeze(-1) + b;
  }
  double noise_;
  torch::Tensor log_pi_, a_, b_;
};

TEST(ClassPosterior, TheSumGivesTheExactPosteriorOfAMixtureOfPpcas) {
  PpcaMixture model(3, 5, 2, 0.5, 31);
  seed_everything(32);
  auto [y, x] = model.draw(12);
  auto exact = torch::softmax(model.exact_log_joint(x), -1);
  EstimatorOptions options;
  options.k = 20000;
  options.chunk = 5000;
  seed_everything(33);
  auto posterior = class_log_posterior(model, x, options).exp();
  EXPECT_LT((posterior - exact).abs().max().item<double>(), 0.01);
  seed_everything(34);
  auto log_marginal = class_sum_log_marginal(model, x, options);
  EXPECT_LT((log_marginal - torch::logsumexp(model.exact_log_joint(x), -1)).abs().max().item<double>(), 0.01);
  // The posterior names the class that made the example for most of them:
  // the test has power (the uniform classifier q(y|x) would name a third).
  EXPECT_GE(accuracy(y, posterior.argmax(-1)), 0.75);
}

TEST(ClassPosterior, UnderAMaskItIsTheExactPosteriorOfTheObservedPart) {
  PpcaMixture model(3, 5, 2, 0.5, 41);
  seed_everything(42);
  auto x = model.draw(8).second;
  auto mask = torch::tensor({1.0, 0.0, 1.0, 1.0, 0.0}, kF64).expand({8, 5});
  auto exact = torch::softmax(model.exact_log_joint(x, mask), -1);
  EstimatorOptions options;
  options.k = 20000;
  options.chunk = 5000;
  seed_everything(43);
  auto posterior = class_posteriors(model, x, options, 3, mask).by_sum.exp();
  EXPECT_LT((posterior - exact).abs().max().item<double>(), 0.01);
  // Hiding entries changes the answer: the masked posterior is not the full one.
  EXPECT_GT((exact - torch::softmax(model.exact_log_joint(x), -1)).abs().max().item<double>(), 0.05);
}

TEST(ClassPosterior, AisOverWWithTheClassesSummedReachesTheExactMarginal) {
  // z = (y, w): AIS anneals w for each y, the sum over y is exact; from the
  // prior and from q(w | x, y), also under a mask. Within Monte Carlo error:
  // 0.05 nats on average, each example within 3 standard errors.
  PpcaMixture model(3, 5, 2, 0.5, 51);
  seed_everything(52);
  auto x = model.draw(4).second;
  auto mask = torch::tensor({1.0, 1.0, 0.0, 1.0, 1.0}, kF64).expand({4, 5});
  for (auto init : {AisInit::kPrior, AisInit::kEncoder}) {
    for (const auto& m : {torch::Tensor(), mask}) {
      EstimatorOptions options;
      options.ais.ais_steps = 300;
      options.ais.chains = 64;
      options.ais.leapfrog = 5;
      options.ais.ais_init = init;
      options.seed = 53;
      auto result = annealed_importance_sampling(model, x, options, m);
      auto error = result.weights.log_estimate - torch::logsumexp(model.exact_log_joint(x, m), -1);
      auto relative_stderr = (result.weights.log_stderr - result.weights.log_estimate).exp();
      EXPECT_LT(error.mean().abs().item<double>(), 0.05) << to_string(init) << " " << error;
      EXPECT_TRUE((error.abs() < 3 * relative_stderr + 0.01).all().item<bool>()) << error << relative_stderr;
      EXPECT_EQ(result.weights.k, 64);
    }
  }
}

TEST(ClassPosterior, BdmcBracketsTheExactMarginalWithTheClassesSummedAndClosesAsTGrows) {
  // z = (y, w) simulated with the data: forward AIS sums y (a lower bound),
  // reverse AIS anneals w from the w that made x with y held at its class
  // (an upper bound, weighted by the forward p_hat(y | x)). Each is a bound
  // in expectation over the simulation, so the test takes 200 examples and
  // allows 3 standard errors of the mean over them; the gap shrinks as T
  // grows, from the prior and from q(w | x, y).
  PpcaMixture model(3, 5, 2, 0.5, 61);
  seed_everything(62);
  auto [x, z] = model.simulate(200);
  auto exact = torch::logsumexp(model.exact_log_joint(x), -1);
  auto mean_and_error = [](const torch::Tensor& values) {
    return std::pair{values.mean().item<double>(), values.std().item<double>() / std::sqrt(values.numel())};
  };
  for (auto init : {AisInit::kPrior, AisInit::kEncoder}) {
    double previous_gap = INFINITY;
    for (int64_t steps : {10, 100, 400}) {
      EstimatorOptions options;
      options.ais.ais_steps = steps;
      options.ais.chains = 16;
      options.ais.leapfrog = 5;
      options.ais.ais_init = init;
      options.seed = 63;
      auto result = bidirectional_monte_carlo(model, x, z, options);
      const auto [below, below_error] = mean_and_error(result.lower - exact);
      const auto [above, above_error] = mean_and_error(result.upper - exact);
      const auto [gap, gap_error] = mean_and_error(result.upper - result.lower);
      const std::string where = to_string(init) + " T = " + std::to_string(steps);
      EXPECT_LT(below, 3 * below_error + 1e-3) << where;
      EXPECT_GT(above, -3 * above_error - 1e-3) << where;
      EXPECT_LT(gap, previous_gap + 3 * gap_error) << where;
      previous_gap = gap;
    }
    EXPECT_LT(previous_gap, 0.03) << to_string(init);
  }
  auto wrong = z.clone();
  wrong[0][0] = 3.0;  // no such class
  EstimatorOptions options;
  options.ais.ais_steps = 5;
  options.ais.chains = 2;
  EXPECT_THROW(bidirectional_monte_carlo(model, x, wrong, options), Error);
}

}  // namespace
}  // namespace dgm
