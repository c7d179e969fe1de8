// The discretized logistic of 8-bit values: its masses over the 256 levels
// sum to 1, equal the logistic's CDF differences computed directly in
// float64, stay finite in float32 where those differences cancel, and its
// draws fall on the levels with those frequencies. The data check refuses
// values off the grid, and a discretized model reports bits per dimension.

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "core/dataset.h"
#include "core/distributions.h"
#include "core/random.h"
#include "test_support.h"

namespace dgm {
namespace {

using test::error_message_of;
using test::kF64;

/// The 256 levels k / 255, float64 [256].
torch::Tensor levels() { return torch::arange(256, kF64).div(255.0); }

/// log P(v) from the logistic's CDF, bin by bin, in float64: the reference.
double direct_log_mass(double v, double mu, double s) {
  auto cdf = [&](double t) { return 1.0 / (1.0 + std::exp(-(t - mu) / s)); };
  const double h = 0.5 / 255.0;
  const double upper = v > 1.0 - h ? 1.0 : cdf(v + h), lower = v < h ? 0.0 : cdf(v - h);
  return std::log(upper - lower);
}

TEST(DiscretizedLogistic, MassesOfTheLevelsSumToOneAndEqualTheCdfDifferences) {
  for (const auto& [mu, s] :
       {std::pair<double, double>{0.5, 0.05}, {0.02, 0.3}, {0.97, 0.004}, {-0.4, 0.2}, {1.6, 0.1}, {0.3, 2.0}}) {
    DiscretizedLogistic d(torch::full({256}, mu, kF64), torch::full({256}, std::log(s), kF64));
    const auto log_mass = d.log_prob_elements(levels());
    EXPECT_NEAR(log_mass.exp().sum().item<double>(), 1.0, 1e-9) << "mu " << mu << " s " << s;
    for (int k : {0, 1, 77, 128, 254, 255}) {
      const double reference = direct_log_mass(k / 255.0, mu, s);
      if (reference < -30) continue;  // the reference's own difference has lost its digits
      EXPECT_NEAR(log_mass[k].item<double>(), reference, 1e-7 * std::max(1.0, std::abs(reference)))
          << "level " << k << ", mu " << mu << ", s " << s;
    }
  }
}

TEST(DiscretizedLogistic, Float32StaysFiniteWhereTheDifferenceCancels) {
  // Far above the location, sigma(upper) - sigma(lower) of float32 is 1 - 1;
  // taken on the other side it keeps its digits, and beyond that the density
  // times the bin width takes over.
  const auto value = torch::tensor({0.5, 1.0, 0.0, 200.0 / 255.0}, torch::kFloat32);
  const auto mu = torch::tensor({0.1, -3.0, 4.0, 0.2}, torch::kFloat32);
  const auto log_s = torch::full({4}, std::log(0.05), torch::kFloat32);
  const auto in32 = DiscretizedLogistic(mu, log_s).log_prob_elements(value);
  const auto in64 = DiscretizedLogistic(mu.to(torch::kFloat64), log_s.to(torch::kFloat64))
                        .log_prob_elements(value.to(torch::kFloat64));
  ASSERT_TRUE(torch::isfinite(in32).all().item<bool>()) << in32;
  EXPECT_TRUE(torch::allclose(in32.to(torch::kFloat64), in64, 1e-4, 1e-3)) << in32 << in64;
  // And the gradients are finite too.
  auto location = mu.clone().requires_grad_(true);
  auto scale = log_s.clone().requires_grad_(true);
  DiscretizedLogistic(location, scale).log_prob(value).backward();
  EXPECT_TRUE(torch::isfinite(location.grad()).all().item<bool>());
  EXPECT_TRUE(torch::isfinite(scale.grad()).all().item<bool>());
}

TEST(DiscretizedLogistic, DrawsFallOnTheLevelsAsOftenAsTheirMasses) {
  seed_everything(3);
  DiscretizedLogistic d(torch::full({1}, 0.02, kF64), torch::full({1}, std::log(0.03), kF64));
  const int64_t n = 200000;
  const auto draws = d.sample(n).flatten();
  const auto scaled = draws * 255.0;
  EXPECT_TRUE(torch::allclose(scaled, scaled.round())) << "every draw is a level";
  const auto counts = torch::bincount(scaled.round().to(torch::kLong), {}, 256).to(kF64);
  const auto masses = d.log_prob_elements(levels().unsqueeze(1)).squeeze(1).exp();
  // Each level's count within 5 binomial standard errors of n times its mass
  // (level 0 collects the lower tail: about 0.34 of the draws).
  const auto expected = masses * n;
  const auto error = (expected * (1 - masses)).sqrt() + 1.0;
  EXPECT_TRUE(((counts - expected).abs() <= 5 * error).all().item<bool>())
      << (counts - expected).abs().div(error).max().item<double>() << " standard errors at the worst level";
}

TEST(DiscretizedLogistic, TheDataCheckRefusesValuesOffTheGrid) {
  check_levels(levels().to(torch::kFloat32), 256, "levels");  // every level, in float32: accepted
  const auto half = error_message_of([] { check_levels(torch::tensor({0.0, 0.5}), 256, "file.npy"); });
  EXPECT_NE(half.find("file.npy: value 1 is 0.5, not one of the 256 levels k / 255"), std::string::npos) << half;
  const auto negative = error_message_of([] { check_levels(torch::tensor({-1.0}), 256, "f"); });
  EXPECT_NE(negative.find("value 0 is -1"), std::string::npos) << negative;
}

}  // namespace
}  // namespace dgm
