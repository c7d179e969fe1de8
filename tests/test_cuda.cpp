// The same computations on CUDA as on the CPU: exact quantities must agree to
// rounding, Monte Carlo ones within their error, and a run trained on the GPU
// must load and evaluate on the CPU. Skipped where LibTorch has no CUDA device
// (the CI machine); `scripts/gpu-check` runs them on a GPU machine.

#include <gtest/gtest.h>
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <cmath>

#include "estimators/importance_sampling.h"
#include "estimators/iwae_bound.h"
#include "models/gaussian_mixture.h"
#include "models/ppca.h"
#include "test_support.h"
#include "trainers/gmm_em.h"

namespace dgm {
namespace {

#define SKIP_WITHOUT_CUDA() \
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device"

using test::kF64;

using test::json_of;

TEST(Cuda, PpcaExactPosteriorGivesTheClosedFormMarginalOnTheGpu) {
  SKIP_WITHOUT_CUDA();
  auto x = test::binary_fashion_mnist(2000).to(torch::kFloat64);
  PpcaImpl cpu = *fit_ppca(x, 10);
  PpcaImpl gpu = *ppca_copy(cpu, torch::kCUDA, torch::kFloat64);
  auto batch = x.slice(0, 0, 200);
  auto mask = (torch::rand_like(batch) < 0.7).to(torch::kFloat64);
  auto exact = *cpu.closed_form_log_marginal(batch, mask);
  auto on_gpu = *gpu.closed_form_log_marginal(batch.cuda(), mask.cuda());
  EXPECT_TRUE(torch::allclose(on_gpu.cpu(), exact, 1e-10, 1e-8));
  // With the exact posterior as proposal every weight equals p(x): one sample is exact.
  auto estimate = importance_sampling(gpu, batch.cuda(), EstimatorOptions{1}, mask.cuda());
  EXPECT_TRUE(torch::allclose(estimate.log_estimate.cpu(), exact, 1e-8, 1e-6));
  EstimatorOptions iwae;
  iwae.k = 50;
  iwae.chunk = 7;
  EXPECT_TRUE(torch::allclose(iwae_bound(gpu, batch.cuda(), iwae, mask.cuda()).cpu(), exact, 1e-8, 1e-6));
}

TEST(Cuda, GaussianMixtureEmFollowsTheSamePathAsOnTheCpu) {
  SKIP_WITHOUT_CUDA();
  torch::manual_seed(4);
  const int64_t n = 20000, d = 5, k = 4;
  auto centres = 4.0 * torch::randn({k, d}, kF64);
  auto labels = torch::randint(k, {n}, torch::kLong);
  auto x = centres.index_select(0, labels) + torch::randn({n, d}, kF64);
  EmOptions options;
  options.components = k;
  options.max_iter = 15;
  options.tol = 0.0;
  for (auto type : {CovarianceType::kFull, CovarianceType::kDiag}) {
    options.covariance = type;
    auto warm = GaussianMixture::from_covariances(
        torch::full({k}, 1.0 / k, kF64), centres + 0.5,
        type == CovarianceType::kFull ? torch::eye(d, kF64).expand({k, d, d}).clone() : torch::ones({k, d}, kF64),
        type);
    auto cpu = fit_gaussian_mixture(x, options, &warm);
    auto warm_gpu = warm.to(torch::kCUDA, torch::kFloat64);
    auto gpu = fit_gaussian_mixture(x.cuda(), options, &warm_gpu);
    ASSERT_EQ(cpu.history.size(), gpu.history.size());
    for (size_t i = 0; i < cpu.history.size(); ++i) EXPECT_NEAR(cpu.history[i], gpu.history[i], 1e-9) << i;
    EXPECT_TRUE(torch::allclose(gpu.mixture.means().cpu(), cpu.mixture.means(), 1e-9, 1e-9));
  }
  // Missing values: the incomplete-data EM on the GPU too.
  auto observed = (torch::rand({n, d}) >= 0.2).to(torch::kFloat64);
  auto holes = x * observed;  // the hidden entries are ignored, whatever they hold
  options.covariance = CovarianceType::kFull;
  options.init = EmInit::kKmeans;
  options.seed = 1;
  auto cpu = fit_gaussian_mixture(holes, options, nullptr, observed);
  auto gpu = fit_gaussian_mixture(holes.cuda(), options, nullptr, observed.cuda());
  EXPECT_TRUE(std::isfinite(gpu.lower_bound));
  EXPECT_NEAR(gpu.lower_bound, cpu.lower_bound, 0.05);  // different k-means++ draws on the two devices
}

TEST(Cuda, RunTrainedOnTheGpuEvaluatesOnBothDevices) {
  SKIP_WITHOUT_CUDA();
  const auto dir = test::make_temp_dir("cuda-run");
  const std::string config = std::string(DGM_SOURCE_DIR) + "/configs/vae.yaml";
  auto train =
      test::run_dgm("train --quiet --device cuda --config " + config +
                    " --set data.limit=6000 --set data.val_size=1000 --set train.epochs=3 --out " + dir + "/run");
  ASSERT_EQ(train.exit_code, 0) << train.output;
  const std::string eval = "eval --run " + dir + "/run --k 200 --limit 500 --json --device ";
  auto gpu = test::run_dgm(eval + "cuda");
  auto cpu = test::run_dgm(eval + "cpu");
  ASSERT_EQ(gpu.exit_code, 0) << gpu.output;
  ASSERT_EQ(cpu.exit_code, 0) << cpu.output;
  const auto g = json_of(gpu), c = json_of(cpu);
  // Different random streams on the two devices: equal within Monte Carlo error.
  const double tolerance = 4.0 * std::hypot(g.at("iwae_stderr").get<double>(), c.at("iwae_stderr").get<double>());
  EXPECT_NEAR(g.at("iwae").get<double>(), c.at("iwae").get<double>(), tolerance);
  EXPECT_GT(g.at("iwae").get<double>(), g.at("elbo").get<double>());
  auto sample = test::run_dgm("sample --device cuda --run " + dir + "/run --n 16 --out " + dir + "/s.png");
  EXPECT_EQ(sample.exit_code, 0) << sample.output;
  auto gmm =
      test::run_dgm("sample --device cuda --latent-sampler gmm:5 --run " + dir + "/run --n 16 --out " + dir + "/g.png");
  EXPECT_EQ(gmm.exit_code, 0) << gmm.output;
  auto estimate = test::run_dgm("estimate --device cuda --run " + dir + "/run --k 1,100 --n 100 --repeats 2 --json");
  EXPECT_EQ(estimate.exit_code, 0) << estimate.output;
}

}  // namespace
}  // namespace dgm
