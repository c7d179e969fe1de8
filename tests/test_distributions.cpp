// Distributions against closed forms and Monte Carlo.

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "core/distributions.h"
#include "test_support.h"

namespace dgm {
namespace {

using test::kF64;

TEST(DiagNormal, LogProbMatchesClosedForm) {
  DiagNormal normal(torch::tensor({{0.5, -1.0}}, kF64), torch::tensor({{2.0, 0.3}}, kF64));
  auto value = torch::tensor({{1.5, -0.7}}, kF64);
  const double expected = (-0.5 * std::pow((1.5 - 0.5) / 2.0, 2) - std::log(2.0) - 0.5 * std::log(2 * M_PI)) +
                          (-0.5 * std::pow((-0.7 + 1.0) / 0.3, 2) - std::log(0.3) - 0.5 * std::log(2 * M_PI));
  EXPECT_NEAR(normal.log_prob(value).item<double>(), expected, 1e-12);
}

TEST(DiagNormal, SamplesComeFirstInTheShape) {
  auto normal = DiagNormal::standard({5}, 3, kF64);
  EXPECT_EQ(normal.sample(7).sizes(), (std::vector<int64_t>{7, 5, 3}));
  EXPECT_EQ(normal.log_prob(normal.sample(7)).sizes(), (std::vector<int64_t>{7, 5}));
}

TEST(DiagNormal, SampleMomentsMatchParameters) {
  torch::manual_seed(1);
  DiagNormal normal(torch::tensor({{3.0, -2.0}}, kF64), torch::tensor({{0.5, 4.0}}, kF64));
  auto draws = normal.sample(200000);
  auto mean = draws.mean(0);
  auto std = draws.std(0);
  EXPECT_NEAR(mean[0][0].item<double>(), 3.0, 0.01);
  EXPECT_NEAR(mean[0][1].item<double>(), -2.0, 0.05);
  EXPECT_NEAR(std[0][0].item<double>(), 0.5, 0.005);
  EXPECT_NEAR(std[0][1].item<double>(), 4.0, 0.04);
}

TEST(DiagNormal, RsampleCarriesGradientsToParameters) {
  auto loc = torch::zeros({2, 3}, kF64).requires_grad_();
  auto log_var = torch::zeros({2, 3}, kF64).requires_grad_();
  auto z = DiagNormal::from_log_var(loc, log_var).rsample(4);
  z.sum().backward();
  ASSERT_TRUE(loc.grad().defined());
  EXPECT_TRUE(torch::allclose(loc.grad(), torch::full({2, 3}, 4.0, kF64)));
  ASSERT_TRUE(log_var.grad().defined());
}

TEST(DiagNormal, EntropyMatchesClosedForm) {
  DiagNormal normal(torch::zeros({1, 2}, kF64), torch::tensor({{2.0, 0.5}}, kF64));
  const double expected = 0.5 * std::log(2 * M_PI * M_E * 4.0) + 0.5 * std::log(2 * M_PI * M_E * 0.25);
  EXPECT_NEAR(normal.entropy().item<double>(), expected, 1e-12);
}

TEST(DiagNormal, KlMatchesClosedFormAndMonteCarlo) {
  DiagNormal q(torch::tensor({{1.0, -0.5}}, kF64), torch::tensor({{0.7, 1.5}}, kF64));
  DiagNormal p(torch::tensor({{0.0, 0.5}}, kF64), torch::tensor({{1.0, 2.0}}, kF64));
  double closed = 0.0;
  const double mq[] = {1.0, -0.5}, sq[] = {0.7, 1.5}, mp[] = {0.0, 0.5}, sp[] = {1.0, 2.0};
  for (int i = 0; i < 2; ++i)
    closed += std::log(sp[i] / sq[i]) + (sq[i] * sq[i] + std::pow(mq[i] - mp[i], 2)) / (2 * sp[i] * sp[i]) - 0.5;
  auto kl = kl_divergence(q, p);
  ASSERT_TRUE(kl.has_value());
  EXPECT_NEAR(kl->item<double>(), closed, 1e-12);
  torch::manual_seed(2);
  auto z = q.sample(400000);
  EXPECT_NEAR((q.log_prob(z) - p.log_prob(z)).mean().item<double>(), closed, 0.01);
}

TEST(DiagNormal, KlToTheStandardNormalTakesTheShortFormWithTheSameValue) {
  torch::manual_seed(6);
  DiagNormal q(torch::randn({4, 3}, kF64), torch::rand({4, 3}, kF64) + 0.1);
  auto standard = DiagNormal::standard({4}, 3, kF64);
  DiagNormal explicit_standard(torch::zeros({4, 3}, kF64), torch::ones({4, 3}, kF64));
  ASSERT_TRUE(standard.is_standard());
  ASSERT_FALSE(explicit_standard.is_standard());
  EXPECT_TRUE(torch::allclose(*kl_divergence(q, standard), *kl_divergence(q, explicit_standard), 1e-12, 1e-12));
  auto z = q.sample(5);
  EXPECT_TRUE(torch::allclose(standard.log_prob(z), explicit_standard.log_prob(z), 1e-12, 1e-12));
}

TEST(Bernoulli, LogProbMatchesClosedFormAndStaysFiniteAtExtremeLogits) {
  auto logits = torch::tensor({{0.3, -2.0, 100.0, -100.0}}, kF64);
  Bernoulli bernoulli(logits);
  auto value = torch::tensor({{1.0, 0.0, 0.0, 1.0}}, kF64);
  auto p = torch::sigmoid(logits);
  const double expected = std::log(p[0][0].item<double>()) + std::log(1 - p[0][1].item<double>()) - 100.0 - 100.0;
  EXPECT_NEAR(bernoulli.log_prob(value).item<double>(), expected, 1e-9);
  EXPECT_TRUE(std::isfinite(bernoulli.log_prob(value).item<double>()));
}

TEST(Bernoulli, LogProbBroadcastsOverSamples) {
  Bernoulli bernoulli(torch::zeros({3, 2, 4}, kF64));  // [S, B, D]
  auto value = torch::ones({2, 4}, kF64);              // [B, D]
  auto lp = bernoulli.log_prob(value);
  EXPECT_EQ(lp.sizes(), (std::vector<int64_t>{3, 2}));
  EXPECT_NEAR(lp[0][0].item<double>(), 4 * std::log(0.5), 1e-12);
}

TEST(Bernoulli, EntropyAndKlMatchClosedFormAndMonteCarlo) {
  const double pq = 0.8, pp = 0.3;
  Bernoulli q(torch::tensor({{std::log(pq / (1 - pq))}}, kF64));
  Bernoulli p(torch::tensor({{std::log(pp / (1 - pp))}}, kF64));
  EXPECT_NEAR(q.entropy().item<double>(), -(pq * std::log(pq) + (1 - pq) * std::log(1 - pq)), 1e-12);
  const double closed = pq * std::log(pq / pp) + (1 - pq) * std::log((1 - pq) / (1 - pp));
  EXPECT_NEAR(kl_divergence(q, p)->item<double>(), closed, 1e-12);
  torch::manual_seed(3);
  auto x = q.sample(200000);
  EXPECT_NEAR((q.log_prob(x) - p.log_prob(x)).mean().item<double>(), closed, 0.01);
}

TEST(Bernoulli, HasNoReparameterizedSampler) {
  Bernoulli bernoulli(torch::zeros({1, 2}));
  EXPECT_FALSE(bernoulli.has_rsample());
  EXPECT_THROW(bernoulli.rsample(1), std::exception);
}

TEST(Categorical, LogProbEntropyAndKlMatchClosedForm) {
  auto probs_q = torch::tensor({{0.2, 0.5, 0.3}}, kF64);
  auto probs_p = torch::tensor({{0.6, 0.1, 0.3}}, kF64);
  Categorical q(torch::log(probs_q) + 7.0);  // logits need not be normalized
  Categorical p(torch::log(probs_p));
  EXPECT_NEAR(q.log_prob(torch::tensor({1}, torch::kLong)).item<double>(), std::log(0.5), 1e-12);
  EXPECT_NEAR(q.entropy().item<double>(), -(0.2 * std::log(0.2) + 0.5 * std::log(0.5) + 0.3 * std::log(0.3)), 1e-12);
  const double closed = 0.2 * std::log(0.2 / 0.6) + 0.5 * std::log(0.5 / 0.1) + 0.3 * std::log(0.3 / 0.3);
  EXPECT_NEAR(kl_divergence(q, p)->item<double>(), closed, 1e-12);
}

TEST(Categorical, SampleFrequenciesMatchProbabilities) {
  torch::manual_seed(4);
  Categorical c(torch::log(torch::tensor({{0.1, 0.6, 0.3}, {0.5, 0.25, 0.25}}, kF64)));
  auto draws = c.sample(100000);  // [n, 2]
  ASSERT_EQ(draws.sizes(), (std::vector<int64_t>{100000, 2}));
  EXPECT_NEAR(draws.select(1, 0).eq(1).to(torch::kFloat64).mean().item<double>(), 0.6, 0.01);
  EXPECT_NEAR(draws.select(1, 1).eq(0).to(torch::kFloat64).mean().item<double>(), 0.5, 0.01);
  EXPECT_EQ(c.log_prob(draws).sizes(), (std::vector<int64_t>{100000, 2}));
}

TEST(KlDivergence, IsEmptyForPairsWithoutClosedForm) {
  DiagNormal normal(torch::zeros({1, 2}), torch::ones({1, 2}));
  Bernoulli bernoulli(torch::zeros({1, 2}));
  EXPECT_FALSE(kl_divergence(normal, bernoulli).has_value());
}

}  // namespace
}  // namespace dgm
