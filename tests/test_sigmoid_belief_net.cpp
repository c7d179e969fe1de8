// The sigmoid belief net: exact enumeration against a hand-written sum.

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "core/error.h"
#include "core/random.h"
#include "estimators/exact_marginal.h"
#include "estimators/naive_monte_carlo.h"
#include "models/sigmoid_belief_net.h"
#include "test_support.h"

namespace dgm {
namespace {

SigmoidBeliefNet random_sbn(int64_t d_x, int64_t d_z, uint64_t seed) {
  seed_everything(seed);
  SigmoidBeliefNet sbn(test::sbn_options(d_z, 3), DataShape{d_x, {}});
  torch::NoGradGuard no_grad;
  for (auto& p : sbn->parameters()) p.normal_(0.0, 1.5);
  sbn->to(torch::kFloat64);
  return sbn;
}

/// log p(x) by a loop over every z, with sigmoids written out.
double brute_force_log_marginal(SigmoidBeliefNet& sbn, const torch::Tensor& x) {
  auto params = sbn->named_parameters();
  auto b = params["prior_logits"], w = params["decoder.weight"], c = params["decoder.bias"];
  const int64_t d = b.size(0);
  double total = 0.0;
  for (int64_t index = 0; index < (1 << d); ++index) {
    double log_joint = 0.0;
    auto z = torch::zeros({d}, torch::kFloat64);
    for (int64_t j = 0; j < d; ++j) {
      const bool on = (index >> j) & 1;
      z[j] = on ? 1.0 : 0.0;
      const double p = 1.0 / (1.0 + std::exp(-b[j].item<double>()));
      log_joint += std::log(on ? p : 1 - p);
    }
    auto p_x = torch::sigmoid(w.mv(z) + c);
    log_joint += (x * torch::log(p_x) + (1 - x) * torch::log(1 - p_x)).sum().item<double>();
    total += std::exp(log_joint);
  }
  return std::log(total);
}

TEST(SigmoidBeliefNet, LatentValuesAreTheBitsOfTheIndex) {
  SigmoidBeliefNet sbn(test::sbn_options(4), DataShape{3, {}});
  auto z = sbn->latent_values(torch::tensor({0, 5, 15}, torch::kLong));
  EXPECT_TRUE(torch::equal(z, torch::tensor({{0.f, 0.f, 0.f, 0.f}, {1.f, 0.f, 1.f, 0.f}, {1.f, 1.f, 1.f, 1.f}})));
  EXPECT_EQ(sbn->latent_support_size(), 16);
}

TEST(SigmoidBeliefNet, ExactMarginalEqualsTheBruteForceSum) {
  SigmoidBeliefNet sbn = random_sbn(8, 4, 1);
  auto x = torch::bernoulli(torch::full({3, 8}, 0.5, torch::kFloat64));
  torch::NoGradGuard no_grad;
  auto exact = exact_log_marginal(*sbn, x, EstimatorOptions{1, 5});
  for (int64_t b = 0; b < 3; ++b) EXPECT_NEAR(exact[b].item<double>(), brute_force_log_marginal(sbn, x[b]), 1e-9);
}

TEST(SigmoidBeliefNet, ProposalMarginalsAreThePosteriorMarginals) {
  SigmoidBeliefNet sbn = random_sbn(8, 3, 2);
  auto x = torch::bernoulli(torch::full({2, 8}, 0.5, torch::kFloat64));
  torch::NoGradGuard no_grad;
  auto all_z = sbn->latent_values(torch::arange(8, torch::kLong));         // [8, 3]
  auto joint = sbn->log_joint(x, all_z.unsqueeze(1).expand({8, 2, 3}));    // [8, 2]
  auto posterior = torch::softmax(joint, 0);                               // p(z | x)
  auto marginals = (posterior.unsqueeze(-1) * all_z.unsqueeze(1)).sum(0);  // [2, 3]
  auto q = sbn->proposal(x);
  EXPECT_TRUE(torch::allclose(q->mean(), marginals, 1e-9, 1e-9));
}

TEST(SigmoidBeliefNet, TooManyConfigurationsToEnumerateIsAClearErrorButSamplingWorks) {
  SigmoidBeliefNet sbn(test::sbn_options(30), DataShape{5, {}});
  auto x = torch::bernoulli(torch::full({2, 5}, 0.5));
  torch::NoGradGuard no_grad;
  const auto message = test::error_message_of([&] { exact_log_marginal(*sbn, x); });
  EXPECT_NE(message.find("2^30"), std::string::npos) << message;
  EXPECT_NE(message.find("sampling estimator"), std::string::npos) << message;
  EXPECT_NE(test::error_message_of([&] { sbn->proposal(x); }).find("2^30"), std::string::npos);
  auto naive = naive_monte_carlo(*sbn, x, {100, 0});
  EXPECT_TRUE(torch::isfinite(naive.log_estimate).all().item<bool>());
  EXPECT_FALSE(has_exact_marginal(*sbn));
  EXPECT_THROW(SigmoidBeliefNet(test::sbn_options(63), DataShape{5, {}}), Error);
}

}  // namespace
}  // namespace dgm
