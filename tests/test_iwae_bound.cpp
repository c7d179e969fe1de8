// The IWAE bound (estimators/iwae_bound.h) against the exact marginal of a
// linear-Gaussian model: exact from one sample with the exact posterior,
// rising with k towards log p(x), chunked equal to unchunked, masks,
// precision.

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "core/random.h"
#include "estimators/elbo.h"
#include "estimators/iwae_bound.h"
#include "models/vae.h"
#include "test_support.h"

namespace dgm {
namespace {

using test::LinearGaussianModel;
using test::kF64;

torch::Tensor data_for(int64_t batch, int64_t dim, double scale) {
  torch::manual_seed(99);
  return torch::randn({batch, dim}, kF64) * scale;
}

TEST(IwaeBound, ChunkedEqualsUnchunked) {
  LinearGaussianModel model(3, 1.5, 0.5, LinearGaussianModel::Proposal::kPrior);
  auto x = data_for(4, 3, 2.0);
  seed_everything(7);
  auto whole = iwae_bound(model, x, {37, 0});
  for (int64_t chunk : {1, 5, 36}) {
    seed_everything(7);
    auto chunked = iwae_bound(model, x, {37, chunk});
    EXPECT_TRUE(torch::allclose(whole, chunked, 1e-12, 1e-10)) << "chunk " << chunk;
  }
}

TEST(IwaeBound, ChunkedEqualsUnchunkedOnAVae) {
  seed_everything(0);
  Vae vae = test::VaeSpec(12, 3).hidden({16}).build();
  vae->eval();
  torch::NoGradGuard no_grad;
  auto x = torch::bernoulli(torch::full({5, 12}, 0.4));
  seed_everything(8);
  auto whole = iwae_bound(*vae, x, {64, 0});
  seed_everything(8);
  auto chunked = iwae_bound(*vae, x, {64, 10});
  EXPECT_TRUE(torch::allclose(whole, chunked, 1e-5, 1e-4));
}

TEST(IwaeBound, ExactPosteriorGivesTheExactMarginalFromOneSample) {
  LinearGaussianModel model(4, 2.0, 0.7, LinearGaussianModel::Proposal::kPosterior);
  auto x = data_for(6, 4, 2.0);
  auto exact = model.exact_log_marginal(x);
  for (int64_t k : {1, 3, 100}) {
    EXPECT_TRUE(torch::allclose(iwae_bound(model, x, {k, 0}), exact, 1e-10, 1e-9)) << "k " << k;
  }
  // ELBO = log p(x) when q is the posterior: exactly with Monte Carlo KL (the
  // log-weight is constant), and up to Monte Carlo error with the analytic KL.
  EXPECT_TRUE(torch::allclose(elbo(model, x, test::monte_carlo_kl(1)).elbo, exact, 1e-10, 1e-9));
  seed_everything(1);
  EXPECT_TRUE(torch::allclose(elbo(model, x, EstimatorOptions{20000}).elbo, exact, 0, 0.05));
}

TEST(IwaeBound, KOfOneEqualsTheMonteCarloElbo) {
  LinearGaussianModel model(3, 1.0, 0.3, LinearGaussianModel::Proposal::kPrior);
  auto x = data_for(5, 3, 1.0);
  seed_everything(3);
  auto iwae = iwae_bound(model, x, {1, 0});
  seed_everything(3);
  auto elbo_mc = elbo(model, x, test::monte_carlo_kl(1)).elbo;
  EXPECT_TRUE(torch::allclose(iwae, elbo_mc, 1e-12, 1e-12));
}

TEST(IwaeBound, GrowsWithKTowardsTheExactMarginal) {
  // The prior as proposal: a poor q, so the bound is loose at small k.
  LinearGaussianModel model(2, 1.0, 0.5, LinearGaussianModel::Proposal::kPrior);
  auto x = data_for(200, 2, 1.0);
  const double exact = model.exact_log_marginal(x).mean().item<double>();
  double previous = -std::numeric_limits<double>::infinity();
  for (int64_t k : {1, 10, 100, 2000}) {
    seed_everything(static_cast<uint64_t>(k));
    const double bound = iwae_bound(model, x, {k, 500}).mean().item<double>();
    EXPECT_GT(bound, previous) << "k " << k;
    EXPECT_LT(bound, exact + 0.01) << "k " << k;
    previous = bound;
  }
  EXPECT_NEAR(previous, exact, 0.05);
}

TEST(IwaeBound, FullMaskEqualsNoMaskAndPartialMaskMarginalizesTheRest) {
  LinearGaussianModel model(3, 1.0, 0.6, LinearGaussianModel::Proposal::kPrior);
  auto x = data_for(50, 3, 1.0);
  seed_everything(4);
  auto unmasked = iwae_bound(model, x, {20, 0});
  seed_everything(4);
  auto full = iwae_bound(model, x, {20, 0}, torch::ones_like(x));
  EXPECT_TRUE(torch::allclose(unmasked, full, 1e-12, 1e-12));
  auto mask = torch::ones_like(x);
  mask.select(1, 2).zero_();  // the third coordinate is missing
  seed_everything(5);
  const double masked = iwae_bound(model, x, {5000, 1000}, mask).mean().item<double>();
  EXPECT_NEAR(masked, model.exact_log_marginal(x, mask).mean().item<double>(), 0.02);
}

TEST(IwaeBound, Float32AgreesWithFloat64) {
  LinearGaussianModel model64(4, 1.2, 0.4, LinearGaussianModel::Proposal::kPosterior);
  LinearGaussianModel model32(4, 1.2, 0.4, LinearGaussianModel::Proposal::kPosterior, torch::kFloat32);
  auto x = data_for(8, 4, 1.5);
  auto b64 = iwae_bound(model64, x, {10, 0});
  auto b32 = iwae_bound(model32, x.to(torch::kFloat32), {10, 0});
  EXPECT_TRUE(torch::allclose(b32.to(torch::kFloat64), b64, 1e-5, 1e-4));
}

}  // namespace
}  // namespace dgm
