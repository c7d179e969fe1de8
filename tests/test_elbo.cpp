// The ELBO (estimators/elbo.h) against the exact marginal of a linear-Gaussian
// model, its closed-form KL against Monte Carlo, and the training surrogates
// (KL weight, warm-up, free bits) that change the objective and never the
// estimate.

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "core/random.h"
#include "estimators/elbo.h"
#include "test_support.h"
#include "trainers/config.h"
#include "trainers/objective.h"

namespace dgm {
namespace {

using test::LinearGaussianModel;
using test::kF64;

TEST(Elbo, IsTheExactMarginalWithTheExactPosteriorAndBelowItWithAnother) {
  LinearGaussianModel exact_q(4, 1.3, 0.6, LinearGaussianModel::Proposal::kPosterior);
  LinearGaussianModel prior_q(4, 1.3, 0.6, LinearGaussianModel::Proposal::kPrior);
  torch::manual_seed(4);
  auto x = torch::randn({5, 4}, kF64) * 1.5;
  const auto exact = exact_q.exact_log_marginal(x);
  // KL(q || p(z|x)) = 0: every draw's log p(x, z) - log q(z | x) is log p(x),
  // so the ELBO with its KL by Monte Carlo is exact from one draw.
  EXPECT_TRUE(torch::allclose(elbo(exact_q, x, test::monte_carlo_kl(1)).elbo, exact, 1e-10, 1e-9));
  // With the prior as q the gap is KL(p(z) || p(z|x)) > 0, here in closed form
  // for each coordinate: N(0, 1) against N(a x / t, s^2 / t), t = a^2 + s^2.
  seed_everything(1);
  auto terms = elbo(prior_q, x, EstimatorOptions{100000});
  const double a = 1.3, s = 0.6, t = a * a + s * s;
  auto posterior_mean = a * x / t;
  const double posterior_var = s * s / t;
  auto kl = 0.5 * ((1.0 + posterior_mean.pow(2)) / posterior_var - 1.0 - std::log(1.0 / posterior_var)).sum(-1);
  EXPECT_TRUE(torch::allclose(terms.elbo, exact - kl, 0, 0.2));
}

TEST(Elbo, ClosedFormKlAgreesWithMonteCarlo) {
  LinearGaussianModel model(3, 0.8, 0.5, LinearGaussianModel::Proposal::kPosterior);
  torch::manual_seed(2);
  auto x = torch::randn({4, 3}, kF64);
  seed_everything(3);
  auto analytic = elbo(model, x, EstimatorOptions{1});
  seed_everything(3);
  auto sampled = elbo(model, x, test::monte_carlo_kl(50000));
  EXPECT_TRUE(torch::allclose(sampled.kl, analytic.kl, 0, 0.02));
  EXPECT_TRUE(torch::allclose(analytic.elbo, analytic.expected_log_likelihood - analytic.kl));
}

TEST(ElboSurrogates, KlWeightAndFreeBitsChangeOnlyTheObjective) {
  test::LinearGaussianModel model(3, 1.0, 0.5, test::LinearGaussianModel::Proposal::kPosterior);
  auto x = torch::randn({6, 3}, torch::kFloat64);
  seed_everything(1);
  const ElboTerms plain = elbo(model, x);
  EXPECT_TRUE(torch::allclose(plain.objective, plain.elbo));
  EstimatorOptions weighted;
  weighted.kl_weight = 0.5;
  seed_everything(1);
  const ElboTerms half = elbo(model, x, weighted);
  EXPECT_TRUE(torch::equal(half.elbo, plain.elbo));
  EXPECT_TRUE(torch::allclose(half.objective, plain.expected_log_likelihood - 0.5 * plain.kl));
  // Free bits far above every dimension's KL: the KL term is D * lambda.
  EstimatorOptions free_bits;
  free_bits.free_bits = 50.0;
  seed_everything(1);
  const ElboTerms floored = elbo(model, x, free_bits);
  EXPECT_TRUE(torch::allclose(floored.objective, plain.expected_log_likelihood - 3 * 50.0));
  // Free bits at 0 nats leave the batch-mean KL as it was.
  free_bits.free_bits = 1e-12;
  seed_everything(1);
  EXPECT_NEAR(elbo(model, x, free_bits).objective.mean().item<double>(), plain.elbo.mean().item<double>(), 1e-9);
}

TEST(ElboSurrogates, KlWarmUpRampsTheWeightToBeta) {
  test::LinearGaussianModel model(2, 1.0, 0.5, test::LinearGaussianModel::Proposal::kPosterior);
  auto x = torch::randn({4, 2}, torch::kFloat64);
  seed_everything(2);
  const ElboTerms terms = elbo(model, x);
  ObjectiveOptions options;
  options.beta = 2.0;
  options.warmup_steps = 10;
  Objective objective(options);
  for (auto [step, weight] : {std::pair<int64_t, double>{0, 0.0}, {5, 1.0}, {10, 2.0}, {50, 2.0}}) {
    objective.on_step(step);
    seed_everything(2);
    EXPECT_TRUE(torch::allclose(objective.bound(model, x), terms.expected_log_likelihood - weight * terms.kl))
        << "step " << step;
  }
}

TEST(ElboSurrogates, ApplyToTheElboObjectiveOnly) {
  ObjectiveOptions options;
  options.objective = "iwae";
  options.beta = 0.5;
  EXPECT_NE(test::error_message_of([&] { Objective objective(options); }).find("train.beta"), std::string::npos);
  EXPECT_NE(test::error_message_of([&] { parse_config("", "x", {"train.free_bits=-1"}); }).find("out of range"),
            std::string::npos);
}

}  // namespace
}  // namespace dgm
