// Importance sampling (estimators/importance_sampling.h) against exact
// marginal likelihoods: unbiased for p(x), log p-hat biased low with a gap
// that shrinks as k grows, zero variance with the exact posterior, masks,
// chunks, its diagnostics and precision.

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "core/random.h"
#include "estimators/elbo.h"
#include "estimators/exact_marginal.h"
#include "estimators/importance_sampling.h"
#include "estimators/iwae_bound.h"
#include "estimators/naive_monte_carlo.h"
#include "test_support.h"

namespace dgm {
namespace {

using test::kF64;

SigmoidBeliefNet small_sbn(uint64_t seed) {
  seed_everything(seed);
  SigmoidBeliefNet sbn(test::sbn_options(6), DataShape{20, {}});
  torch::NoGradGuard no_grad;
  for (auto& p : sbn->parameters()) p.normal_(0.0, 1.0);
  sbn->to(torch::kFloat64);
  return sbn;
}

/// Mean and standard error of p_hat / p over rows that repeat one example.
std::pair<double, double> ratio_to_exact(const torch::Tensor& log_estimate, double exact) {
  auto ratio = torch::exp(log_estimate - exact);
  return {ratio.mean().item<double>(), ratio.std().item<double>() / std::sqrt(double(ratio.numel()))};
}

TEST(ImportanceSampling, IsUnbiasedForPpca) {
  PpcaImpl model = test::random_ppca(5, 2, 0.3, 1);
  auto x = test::draw_ppca(model, 1);
  const double exact = model.closed_form_log_marginal(x)->item<double>();
  seed_everything(2);
  auto repeated = x.expand({20000, 5}).contiguous();  // every row an independent estimate
  auto estimate = importance_sampling(model, repeated, {5, 0, widened_proposal(1.6)});
  const auto [mean, stderr_] = ratio_to_exact(estimate.log_estimate, exact);
  EXPECT_NEAR(mean, 1.0, 3 * stderr_) << "stderr " << stderr_;
  EXPECT_LT(stderr_, 0.02);
  // log p_hat is biased low (Jensen), by more than its own noise.
  auto log_gap = estimate.log_estimate - exact;
  EXPECT_LT(log_gap.mean().item<double>(), -5 * log_gap.std().item<double>() / std::sqrt(20000.0));
}

TEST(ImportanceSampling, IsUnbiasedForTheSigmoidBeliefNet) {
  SigmoidBeliefNet sbn = small_sbn(3);
  torch::NoGradGuard no_grad;
  auto x = torch::bernoulli(torch::full({1, 20}, 0.5, torch::kFloat64));
  const double exact = exact_log_marginal(*sbn, x).item<double>();
  seed_everything(4);
  auto repeated = x.expand({20000, 20}).contiguous();
  for (const auto& estimate :
       {importance_sampling(*sbn, repeated, {3, 0}), naive_monte_carlo(*sbn, repeated, {3, 0})}) {
    const auto [mean, stderr_] = ratio_to_exact(estimate.log_estimate, exact);
    EXPECT_NEAR(mean, 1.0, 3 * stderr_) << "stderr " << stderr_;
  }
}

TEST(ImportanceSampling, JensenGapShrinksAsKGrows) {
  PpcaImpl model = test::random_ppca(5, 2, 0.3, 5);
  auto x = test::draw_ppca(model, 1);
  const double exact = model.closed_form_log_marginal(x)->item<double>();
  auto repeated = x.expand({4000, 5}).contiguous();
  double previous_gap = -std::numeric_limits<double>::infinity();
  for (int64_t k : {1, 4, 16, 64}) {
    seed_everything(static_cast<uint64_t>(10 + k));
    auto gap = importance_sampling(model, repeated, {k, 0, widened_proposal(2.0)}).log_estimate - exact;
    const double mean = gap.mean().item<double>(), stderr_ = gap.std().item<double>() / std::sqrt(4000.0);
    EXPECT_LT(mean, 0.0) << "k " << k;
    EXPECT_GT(mean, previous_gap + 2 * stderr_) << "k " << k;
    previous_gap = mean;
  }
}

TEST(ImportanceSampling, ExactPosteriorGivesConstantWeightsAndTheExactValueFromOneSample) {
  PpcaImpl model = test::random_ppca(5, 2, 0.3, 6);
  auto x = test::draw_ppca(model, 4);
  auto exact = *model.closed_form_log_marginal(x);
  auto one = importance_sampling(model, x, {1, 0, posterior_proposal()});
  EXPECT_TRUE(torch::allclose(one.log_estimate, exact, 1e-10, 1e-9));
  auto many = importance_sampling(model, x, {50, 7, posterior_proposal()});
  EXPECT_TRUE(torch::allclose(many.log_estimate, exact, 1e-10, 1e-9));
  EXPECT_LT(many.log_weight_variance.max().item<double>(), 1e-18);
  EXPECT_TRUE(torch::allclose(many.ess, torch::full({4}, 50.0, kF64), 1e-9, 1e-9));
  EXPECT_TRUE(torch::allclose(iwae_bound(model, x, {1, 0}), exact, 1e-10, 1e-9));
  EstimatorOptions monte_carlo_kl;
  monte_carlo_kl.analytic_kl = false;  // no closed-form KL between a full-covariance q and p
  EXPECT_TRUE(torch::allclose(elbo(model, x, monte_carlo_kl).elbo, exact, 1e-10, 1e-9));
}

TEST(ImportanceSampling, MaskedEstimateEqualsTheExactMarginalOfTheObservedCoordinates) {
  PpcaImpl model = test::random_ppca(5, 2, 0.3, 7);
  auto x = test::draw_ppca(model, 6);
  auto mask = torch::ones_like(x);
  mask.slice(1, 0, 2).zero_();  // "the top half hidden"
  auto exact = *model.closed_form_log_marginal(x, mask);
  EXPECT_TRUE(torch::allclose(importance_sampling(model, x, {3, 0}, mask).log_estimate, exact, 1e-10, 1e-9));
  seed_everything(8);
  auto widened = importance_sampling(model, x, {20000, 5000, widened_proposal(1.5)}, mask);
  EXPECT_TRUE(torch::allclose(widened.log_estimate, exact, 0, 0.01));
  EXPECT_TRUE(torch::allclose(exact_log_marginal(model, x, {}, mask), exact));
}

TEST(ImportanceSampling, ChunkedEqualsUnchunkedForEveryStatistic) {
  PpcaImpl model = test::random_ppca(5, 2, 0.3, 9);
  auto x = test::draw_ppca(model, 3);
  seed_everything(10);
  auto whole = importance_sampling(model, x, {40, 0, widened_proposal(1.3)});
  seed_everything(10);
  auto chunked = importance_sampling(model, x, {40, 6, widened_proposal(1.3)});
  EXPECT_TRUE(torch::allclose(whole.log_estimate, chunked.log_estimate, 1e-12, 1e-10));
  EXPECT_TRUE(torch::allclose(whole.log_stderr, chunked.log_stderr, 1e-10, 1e-9));
  EXPECT_TRUE(torch::allclose(whole.ess, chunked.ess, 1e-10, 1e-9));
  EXPECT_TRUE(torch::allclose(whole.log_weight_variance, chunked.log_weight_variance, 1e-10, 1e-9));
}

TEST(ImportanceSampling, StandardErrorAndEssMatchTheirDefinitions) {
  PpcaImpl model = test::random_ppca(5, 2, 0.3, 11);
  auto x = test::draw_ppca(model, 2);
  seed_everything(12);
  auto estimate = importance_sampling(model, x, {30, 0, widened_proposal(1.5)});
  seed_everything(12);
  auto q = widen(*model.proposal(x), 1.5);
  std::vector<torch::Tensor> draws;
  for (int i = 0; i < 30; ++i) draws.push_back(q->rsample(1));
  auto z = torch::cat(draws);
  auto w = torch::exp(model.log_joint(x, z) - q->log_prob(z));  // small model: no overflow
  EXPECT_TRUE(torch::allclose(estimate.log_estimate, torch::log(w.mean(0)), 1e-10, 1e-10));
  EXPECT_TRUE(torch::allclose(estimate.log_stderr, torch::log(w.std(0) / std::sqrt(30.0)), 1e-8, 1e-8));
  EXPECT_TRUE(torch::allclose(estimate.ess, w.sum(0).pow(2) / w.pow(2).sum(0), 1e-8, 1e-8));
  EXPECT_TRUE(torch::allclose(estimate.log_weight_variance, torch::log(w).var(0), 1e-8, 1e-8));
}

TEST(ImportanceSampling, Float32AgreesWithFloat64) {
  PpcaImpl model = test::random_ppca(5, 2, 0.3, 13);
  auto x = test::draw_ppca(model, 5);
  PpcaImpl model32 = *ppca_copy(model, torch::kCPU, torch::kFloat32);
  seed_everything(14);
  auto a = importance_sampling(model, x, {100, 0, widened_proposal(1.5)});
  seed_everything(14);
  auto b = importance_sampling(model32, x.to(torch::kFloat32), {100, 0, widened_proposal(1.5)});
  EXPECT_TRUE(torch::allclose(b.log_estimate.to(torch::kFloat64), a.log_estimate, 1e-4, 1e-3));
}

}  // namespace
}  // namespace dgm
