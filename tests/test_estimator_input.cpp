// The checks every estimator makes of its input (estimators/input_checks.h):
// k, the mask's shape, a proposal whose support misses the model's, and
// weights that are all zero.

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <limits>

#include "core/error.h"
#include "estimators/exact_marginal.h"
#include "estimators/importance_sampling.h"
#include "estimators/iwae_bound.h"
#include "estimators/naive_monte_carlo.h"
#include "test_support.h"

namespace dgm {
namespace {

using test::kF64;

/// A Gaussian proposal whose density is broken in a chosen way.
class BrokenDensity : public DiagNormal {
 public:
  BrokenDensity(const DiagNormal& base, double log_density) : DiagNormal(base), log_density_(log_density) {}
  torch::Tensor log_prob(const torch::Tensor& value) const override {
    return torch::full(value.sizes().slice(0, value.dim() - 1), log_density_, value.options());
  }

 private:
  double log_density_;
};

Proposal broken(double log_density) {
  return [log_density](LatentVariableModel& model, const torch::Tensor& x, const torch::Tensor&) {
    auto q = std::dynamic_pointer_cast<DiagNormal>(model.prior(x.size(0)));
    return std::make_shared<BrokenDensity>(*q, log_density);
  };
}

TEST(EstimatorInput, BadKMaskAndSupportAreClearErrors) {
  test::LinearGaussianModel model(3, 1.0, 0.5, test::LinearGaussianModel::Proposal::kPosterior);
  auto x = torch::randn({4, 3}, kF64);
  auto message = test::error_message_of([&] { importance_sampling(model, x, {0, 0}); });
  EXPECT_NE(message.find("k = 0"), std::string::npos) << message;
  EXPECT_NE(test::error_message_of([&] { iwae_bound(model, x, {-3, 0}); }).find("k = -3"), std::string::npos);
  EXPECT_NE(test::error_message_of([&] { naive_monte_carlo(model, x, {0, 0}); }).find("k = 0"), std::string::npos);
  message = test::error_message_of([&] { importance_sampling(model, x, {5, 0}, torch::ones({4, 2}, kF64)); });
  EXPECT_NE(message.find("[4, 2]"), std::string::npos) << message;
  EXPECT_NE(message.find("[4, 3]"), std::string::npos) << message;
  // q(z) = 0 where z was drawn: a weight of +inf.
  message = test::error_message_of([&] {
    importance_sampling(model, x, {5, 0, broken(-std::numeric_limits<double>::infinity())});
  });
  EXPECT_NE(message.find("log-weight inf"), std::string::npos) << message;
  EXPECT_NE(message.find("support"), std::string::npos) << message;
  message = test::error_message_of([&] { importance_sampling(model, x, {5, 0, broken(std::nan(""))}); });
  EXPECT_NE(message.find("log-weight nan"), std::string::npos) << message;
  EXPECT_NE(test::error_message_of([&] { exact_log_marginal(model, x); }).find("continuous latent space"),
            std::string::npos);
}

TEST(EstimatorInput, AllZeroWeightsGiveMinusInfinityAndAreFlagged) {
  test::LinearGaussianModel model(3, 1.0, 0.5, test::LinearGaussianModel::Proposal::kPosterior);
  auto x = torch::randn({2, 3}, kF64);
  auto estimate = importance_sampling(model, x, {5, 0, broken(std::numeric_limits<double>::infinity())});
  EXPECT_TRUE(torch::isneginf(estimate.log_estimate).all().item<bool>());
  EXPECT_TRUE(estimate.all_weights_zero.all().item<bool>());
  EXPECT_FALSE(torch::isnan(estimate.ess).any().item<bool>());
  EXPECT_FALSE(torch::isnan(estimate.log_stderr).any().item<bool>());
}

}  // namespace
}  // namespace dgm
