// The active-units diagnostic (Burda et al. 2015) against proposal means whose
// variances are known.

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "estimators/active_units.h"
#include "test_support.h"

namespace dgm {
namespace {

using test::LinearGaussianModel;
using test::kF64;

TEST(ActiveUnits, CountsDimensionsWhoseProposalMeanVariesPastTheThreshold) {
  // Posterior mean a x / (a^2 + s^2) per coordinate: its variance over the data
  // is known exactly from the data's variance.
  LinearGaussianModel model(3, 1.0, 1.0, LinearGaussianModel::Proposal::kPosterior);
  torch::manual_seed(1);
  auto x = torch::randn({500, 3}, kF64) * torch::tensor({1.0, 0.05, 2.0}, kF64);
  const ActiveUnits units = active_units(model, x);
  EXPECT_EQ(units.total, 3);
  EXPECT_EQ(units.active, 2);  // the second coordinate's mean barely moves
  EXPECT_TRUE(torch::allclose(units.variances, 0.25 * x.var(0, /*unbiased=*/false), 1e-12, 1e-12));
}

}  // namespace
}  // namespace dgm
