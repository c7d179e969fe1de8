// ELBO and IWAE bound against exact marginals, against each other, and on a
// trained VAE.

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "core/distributions.h"
#include "core/error.h"
#include "core/random.h"
#include "estimators/active_units.h"
#include "estimators/elbo.h"
#include "estimators/iwae_bound.h"
#include "estimators/log_weights.h"
#include "models/vae.h"
#include "test_support.h"

namespace dgm {
namespace {

/// k samples with the KL of the ELBO estimated by Monte Carlo.
EstimatorOptions monte_carlo_kl(int64_t k) {
  EstimatorOptions options;
  options.k = k;
  options.analytic_kl = false;
  return options;
}

using test::LinearGaussianModel;
const auto kF64 = torch::TensorOptions().dtype(torch::kFloat64);

torch::Tensor data_for(int64_t batch, int64_t dim, double scale) {
  torch::manual_seed(99);
  return torch::randn({batch, dim}, kF64) * scale;
}

TEST(SampleStream, ChunksDoNotChangeTheDrawsInEitherMode) {
  // The block mode is what runs on a GPU; it is checked here on the CPU.
  DiagNormal q(torch::randn({3, 2}), torch::rand({3, 2}) + 0.5);
  Bernoulli b(torch::randn({3, 4}));
  for (const bool in_blocks : {false, true}) {
    for (const Distribution* d : {static_cast<const Distribution*>(&q), static_cast<const Distribution*>(&b)}) {
      seed_everything(8);
      auto whole = SampleStream(*d, 1000, in_blocks).next(1000);
      seed_everything(8);
      SampleStream stream(*d, 1000, in_blocks);
      auto pieces = torch::cat({stream.next(70), stream.next(250), stream.next(1), stream.next(679)});
      EXPECT_TRUE(torch::equal(whole, pieces)) << d->name() << (in_blocks ? " in blocks" : " one by one");
      EXPECT_EQ(whole.size(0), 1000);
      EXPECT_THROW(stream.next(1), Error);
    }
  }
  // Block draws are gradients' paths too.
  auto loc = torch::zeros({2, 3}, torch::requires_grad());
  DiagNormal r(loc, torch::ones({2, 3}));
  SampleStream(r, 300, true).next(300).sum().backward();
  EXPECT_TRUE(torch::allclose(loc.grad(), torch::full({2, 3}, 300.0)));
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

TEST(WeighInChunks, CpuTilesOnSeveralThreadsGiveTheWholeChunksDraws) {
  // 300 x 784 values: tiles of kTileValues / 235,200 = 2 samples, so each
  // chunk of 7 is weighed as tiles 2, 2, 2, 1 on the cores; with gradients on
  // each chunk is weighed whole on one thread. Same draws, same weights.
  seed_everything(0);
  Vae vae = test::VaeSpec(784, 4).hidden({32}).build();
  vae->to(torch::kFloat64);
  auto x = torch::bernoulli(torch::full({300, 784}, 0.3, kF64));
  ASSERT_EQ(kTileValues / x.numel(), 2);
  auto weigh = [&](bool gradients) {
    torch::AutoGradMode mode(gradients);
    seed_everything(5);
    auto q = vae->proposal(x);
    std::vector<torch::Tensor> zs, log_ws;
    weigh_in_chunks(*vae, x, *q, 18, 7, {}, [&](const torch::Tensor& z, const torch::Tensor& log_w) {
      zs.push_back(z.detach());
      log_ws.push_back(log_w.detach());
    });
    return std::make_pair(zs, log_ws);
  };
  auto [whole_z, whole_w] = weigh(true);
  auto [tiled_z, tiled_w] = weigh(false);
  ASSERT_EQ(whole_z.size(), 3u);
  ASSERT_EQ(tiled_z.size(), 3u);
  const std::vector<int64_t> sizes{7, 7, 4};
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    EXPECT_EQ(tiled_w[i].sizes(), (std::vector<int64_t>{sizes[i], 300})) << i;
    EXPECT_TRUE(torch::equal(whole_z[i], tiled_z[i])) << "chunk " << i << ": the draws differ";
    EXPECT_TRUE(torch::allclose(whole_w[i], tiled_w[i], 1e-12, 1e-9)) << "chunk " << i;
  }
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
  EXPECT_TRUE(torch::allclose(elbo(model, x, monte_carlo_kl(1)).elbo, exact, 1e-10, 1e-9));
  seed_everything(1);
  EXPECT_TRUE(torch::allclose(elbo(model, x, EstimatorOptions{20000}).elbo, exact, 0, 0.05));
}

TEST(IwaeBound, KOfOneEqualsTheMonteCarloElbo) {
  LinearGaussianModel model(3, 1.0, 0.3, LinearGaussianModel::Proposal::kPrior);
  auto x = data_for(5, 3, 1.0);
  seed_everything(3);
  auto iwae = iwae_bound(model, x, {1, 0});
  seed_everything(3);
  auto elbo_mc = elbo(model, x, monte_carlo_kl(1)).elbo;
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

}  // namespace
}  // namespace dgm

namespace dgm {
namespace {

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
