// The estimators on models trained on Fashion-MNIST (slow: each test trains
// or fits first): the IWAE bound rises above the ELBO with k on a trained VAE;
// naive Monte Carlo's variance dwarfs importance sampling's on a trained VAE
// and a trained sigmoid belief net; IWAE-5000 reaches a fitted pPCA's exact
// value with a widened posterior, and not with the prior.

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "core/random.h"
#include "estimators/elbo.h"
#include "estimators/importance_sampling.h"
#include "estimators/iwae_bound.h"
#include "estimators/naive_monte_carlo.h"
#include "test_support.h"
#include "trainers/trainer.h"

namespace dgm {
namespace {

using TrainedVae = test::TrainedVaeTest;

TEST_F(TrainedVae, IwaeBoundIsAboveTheElboAndGrowsWithK) {
  torch::NoGradGuard no_grad;
  auto x = test::binary_fashion_mnist(300, Split::kTest);
  seed_everything(6);
  auto elbo_values = elbo(vae(), x).elbo;
  auto iwae5 = iwae_bound(vae(), x, {5, 0});
  auto iwae50 = iwae_bound(vae(), x, {50, 0});
  // Paired differences per example, with their standard errors.
  auto gap = [](const torch::Tensor& high, const torch::Tensor& low) {
    auto d = (high - low).to(torch::kFloat64);
    return std::make_pair(d.mean().item<double>(), d.std().item<double>() / std::sqrt(double(d.numel())));
  };
  const auto [gain5, se5] = gap(iwae5, elbo_values);
  const auto [gain50, se50] = gap(iwae50, iwae5);
  EXPECT_GT(gain5, 3 * se5) << "IWAE-5 - ELBO = " << gain5;
  EXPECT_GT(gain50, 3 * se50) << "IWAE-50 - IWAE-5 = " << gain50;
}

TEST_F(TrainedVae, NaiveVarianceExceedsImportanceSamplingByOrdersOfMagnitude) {
  torch::NoGradGuard no_grad;
  auto x = test::binary_fashion_mnist(20, Split::kTest);
  const double naive = test::variance_over_repeats(
      [&] {
        return naive_monte_carlo(vae(), x, {100, 0}).log_estimate;
      },
      8);
  const double is = test::variance_over_repeats(
      [&] {
        return importance_sampling(vae(), x, {100, 0}).log_estimate;
      },
      8);
  EXPECT_GT(naive, 100 * is) << "naive " << naive << ", importance sampling " << is;
}

TEST(ImportanceSampling, IwaeConvergesOnPpcaFittedToFashionMnist) {
  auto train = test::binary_fashion_mnist(3000).to(torch::kFloat64);  // pPCA of binary images: a real, rough fit
  PpcaImpl model = *fit_ppca(train, 8);
  auto x = test::binary_fashion_mnist(40, Split::kTest).to(torch::kFloat64);
  const double exact = model.closed_form_log_marginal(x)->mean().item<double>();
  seed_everything(15);
  EstimatorOptions widened;
  widened.k = 5000;
  widened.chunk = 500;
  widened.proposal = widened_proposal(1.2);
  const double bound = iwae_bound(model, x, widened).mean().item<double>();
  EXPECT_LE(bound, exact + 1e-6);
  EXPECT_GT(bound, exact - 0.05) << "exact " << exact << ", IWAE-5000 " << bound;
  EstimatorOptions prior = widened;
  prior.proposal = prior_proposal();
  const double prior_bound = iwae_bound(model, x, prior).mean().item<double>();
  EXPECT_LT(prior_bound, exact - 10 * (exact - bound) - 1.0) << "prior IWAE-5000 " << prior_bound;
}

TEST(NaiveMonteCarlo, VarianceExceedsImportanceSamplingByOrdersOfMagnitudeOnATrainedSbn) {
  DataOptions data;
  data.limit = 1200;
  ImageSet all = load_images(data, Split::kTrain);
  TrainValidation split = split_validation(all, 200, 0);
  seed_everything(0);
  SigmoidBeliefNet sbn(test::sbn_options(12), DataShape{784, {}});
  TrainerOptions options;
  options.epochs = 3;
  options.batch_size = 50;
  options.lr = 3e-2;
  options.progress = false;
  Trainer(sbn.ptr(), test::objective_named("exact"), options).fit(split.train, split.validation);
  sbn->eval();
  torch::NoGradGuard no_grad;
  auto x = test::binary_fashion_mnist(20, Split::kTest);
  const double naive = test::variance_over_repeats(
      [&] {
        return naive_monte_carlo(*sbn, x, {100, 0}).log_estimate;
      },
      8);
  const double is = test::variance_over_repeats([&] { return importance_sampling(*sbn, x, {100, 0}).log_estimate; }, 8);
  EXPECT_GT(naive, 100 * is) << "naive " << naive << ", importance sampling " << is;
}

}  // namespace
}  // namespace dgm
