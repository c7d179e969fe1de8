// Sampling-importance-resampling (estimators/importance_resampling.h): draws
// that follow a known posterior from prior proposals; bad counts named.

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "core/error.h"
#include "core/random.h"
#include "estimators/importance_resampling.h"
#include "test_support.h"

namespace dgm {
namespace {

TEST(ImportanceResampling, DrawsFollowThePosteriorFromPriorProposals) {
  // z ~ N(0, 1), x | z ~ N(2 z, 0.5^2): p(z | x) = N(2x / 4.25, 0.25 / 4.25).
  test::LinearGaussianModel model(1, 2.0, 0.5, test::LinearGaussianModel::Proposal::kPrior);
  auto x = torch::tensor({{1.5}, {-0.7}}, torch::kFloat64);
  seed_everything(1);
  EstimatorOptions options;
  options.k = 20000;
  options.chunk = 5000;
  options.proposal = prior_proposal();
  auto z = importance_resample(model, x, options, 4000);  // [m, 2, 1]
  ASSERT_EQ(z.sizes(), (std::vector<int64_t>{4000, 2, 1}));
  for (int64_t b = 0; b < 2; ++b) {
    const double xb = x[b][0].item<double>();
    auto draws = z.select(1, b).squeeze(1);
    EXPECT_NEAR(draws.mean().item<double>(), 2 * xb / 4.25, 0.02) << "example " << b;
    EXPECT_NEAR(draws.var().item<double>(), 0.25 / 4.25, 0.01) << "example " << b;
  }
}

TEST(ImportanceResampling, RejectsBadCounts) {
  test::LinearGaussianModel model(1, 1.0, 1.0, test::LinearGaussianModel::Proposal::kPrior);
  auto x = torch::zeros({1, 1}, torch::kFloat64);
  EstimatorOptions options;
  options.k = 100;
  EXPECT_NE(test::error_message_of([&] { importance_resample(model, x, options, 0); }).find("m = 0"),
            std::string::npos);
  options.k = 0;
  EXPECT_NE(test::error_message_of([&] { importance_resample(model, x, options, 1); }).find("k = 0"),
            std::string::npos);
}

}  // namespace
}  // namespace dgm
