// The doubly reparameterized IWAE gradient against the standard one: the same
// bound value, the same decoder gradient from the same draws, the same encoder
// gradient in expectation with lower variance.

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdio>
#include <functional>

#include "core/random.h"
#include "estimators/elbo.h"
#include "estimators/iwae_bound.h"
#include "models/vae.h"
#include "test_support.h"

namespace dgm {
namespace {

Vae small_vae() {
  torch::manual_seed(7);
  Vae vae = test::VaeSpec(784, 4).hidden({32}).build();
  vae->to(torch::kFloat64);
  return vae;
}

/// The gradients of the parameters whose names start with `prefix`, flattened.
torch::Tensor gradients_of(VaeImpl& vae, const std::string& prefix) {
  std::vector<torch::Tensor> parts;
  for (const auto& item : vae.named_parameters())
    if (item.key().rfind(prefix, 0) == 0) parts.push_back(item.value().grad().flatten());
  return torch::cat(parts);
}

/// Per-coordinate mean and variance of an estimator of the encoder gradient over `repeats` draws.
struct Moments {
  torch::Tensor mean, variance;
};

Moments encoder_gradient_moments(VaeImpl& vae, const torch::Tensor& x, int64_t repeats, uint64_t seed,
                                 const std::function<torch::Tensor(VaeImpl&, const torch::Tensor&)>& bound) {
  torch::Tensor sum, sum_squares;
  for (int64_t r = 0; r < repeats; ++r) {
    seed_everything(derive_seed(seed, static_cast<uint64_t>(r)));
    vae.zero_grad();
    (-bound(vae, x).mean()).backward();
    auto g = gradients_of(vae, "encoder");
    sum = r == 0 ? g.clone() : sum + g;
    sum_squares = r == 0 ? g * g : sum_squares + g * g;
  }
  auto mean = sum / repeats;
  return {mean, (sum_squares / repeats - mean * mean) * repeats / (repeats - 1)};
}

/// The mean over coordinates of the squared z-score of the difference of two
/// independent estimators' means: about 1 when they agree in expectation.
double mean_squared_z(const Moments& a, const Moments& b, int64_t repeats) {
  auto se2 = (a.variance + b.variance) / repeats;
  auto keep = se2 > 1e-20;
  auto z2 = (a.mean - b.mean).pow(2).index({keep}) / se2.index({keep});
  return z2.mean().item<double>();
}

const int64_t kK = 10;

torch::Tensor standard_iwae(VaeImpl& vae, const torch::Tensor& x) {
  EstimatorOptions options;
  options.k = kK;
  return iwae_bound(vae, x, options);
}

torch::Tensor dreg_iwae(VaeImpl& vae, const torch::Tensor& x) {
  EstimatorOptions options;
  options.k = kK;
  options.gradient = Gradient::kDreg;
  return iwae_bound(vae, x, options);
}

TEST(Dreg, SameValueAndSameDecoderGradientAsTheStandardIwaeFromTheSameDraws) {
  auto vae = small_vae();
  auto x = test::binary_fashion_mnist(8).to(torch::kFloat64);
  seed_everything(3);
  auto standard = standard_iwae(*vae, x);
  (-standard.mean()).backward();
  auto decoder_standard = gradients_of(*vae, "decoder").clone();
  auto encoder_standard = gradients_of(*vae, "encoder").clone();
  vae->zero_grad();
  seed_everything(3);
  auto dreg = dreg_iwae(*vae, x);
  (-dreg.mean()).backward();
  EXPECT_TRUE(torch::allclose(dreg, standard, 1e-12, 1e-10));
  EXPECT_TRUE(torch::allclose(gradients_of(*vae, "decoder"), decoder_standard, 1e-10, 1e-12));
  // The encoder's gradient is a different estimator of the same expectation.
  EXPECT_FALSE(torch::allclose(gradients_of(*vae, "encoder"), encoder_standard, 1e-6, 1e-8));
}

TEST(Dreg, EncoderGradientAgreesInExpectationWithLowerVariance) {
  auto vae = small_vae();
  auto x = test::binary_fashion_mnist(8).to(torch::kFloat64);
  const int64_t repeats = 1500;
  auto standard = encoder_gradient_moments(*vae, x, repeats, 11, standard_iwae);
  auto dreg = encoder_gradient_moments(*vae, x, repeats, 12, dreg_iwae);
  const double z2 = mean_squared_z(standard, dreg, repeats);
  // About 1 for Gaussian means; heavy-tailed gradients give less. Bias gives far more.
  EXPECT_LT(z2, 1.3) << "DReG and the standard IWAE gradient disagree in expectation";
  const double variance_ratio = (dreg.variance.sum() / standard.variance.sum()).item<double>();
  EXPECT_LT(variance_ratio, 0.5) << "DReG's encoder gradient variance is not lower";
  std::printf("mean squared z %.3f, variance ratio DReG / standard %.3f\n", z2, variance_ratio);
  // The same statistic detects a gradient of another expectation (the ELBO's,
  // averaged over k samples): the comparison above has the power to fail.
  auto elbo_k = encoder_gradient_moments(*vae, x, repeats, 13, [](VaeImpl& v, const torch::Tensor& batch) {
    EstimatorOptions options;
    options.k = kK;
    return elbo(v, batch, options).elbo;
  });
  const double z2_elbo = mean_squared_z(standard, elbo_k, repeats);
  std::printf("against the ELBO's gradient: mean squared z %.3f\n", z2_elbo);
  EXPECT_GT(z2_elbo, 3.0);
}

}  // namespace
}  // namespace dgm
