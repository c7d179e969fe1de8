// The Gaussian mixture model (models/gaussian_mixture.h) against brute-force
// sums of dense Gaussian densities, exact marginals under masks, the
// estimators, and sampling.

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <unistd.h>

#include <cmath>
#include <filesystem>

#include "core/atomic_file.h"
#include "core/distributions.h"
#include "core/error.h"
#include "core/npy.h"
#include "core/random.h"
#include "estimators/exact_marginal.h"
#include "estimators/importance_sampling.h"
#include "estimators/naive_monte_carlo.h"
#include "models/gaussian_mixture.h"
#include "models/gaussian_mixture_io.h"
#include "test_support.h"
#include "trainers/gmm_em.h"

namespace dgm {
namespace {

using test::kCovarianceTypes;
using test::kF64;

GaussianMixture random_mixture(CovarianceType type, uint64_t seed) {
  seed_everything(seed);
  const int64_t k = 3, d = 4;
  auto a = torch::randn({k, d, d}, kF64);
  auto full = a.matmul(a.transpose(1, 2)) + 0.5 * torch::eye(d, kF64);
  torch::Tensor covariances;
  switch (type) {
    case CovarianceType::kFull:
      covariances = full;
      break;
    case CovarianceType::kTied:
      covariances = full[0];
      break;
    case CovarianceType::kDiag:
      covariances = full.diagonal(0, 1, 2);
      break;
    case CovarianceType::kSpherical:
      covariances = full.diagonal(0, 1, 2).mean(-1);
      break;
  }
  return GaussianMixture::from_covariances(torch::softmax(torch::randn({k}, kF64), 0), torch::randn({k, d}, kF64) * 3,
                                           covariances, type);
}

/// log p(x) as a sum over components of dense Gaussian densities.
torch::Tensor brute_force_log_prob(const GaussianMixture& mixture, const torch::Tensor& x) {
  auto covariances = mixture.full_covariances();
  std::vector<torch::Tensor> terms;
  for (int64_t k = 0; k < mixture.components(); ++k) {
    MultivariateNormal component(mixture.means()[k], torch::linalg_cholesky(covariances[k]));
    terms.push_back(std::log(mixture.weights()[k].item<double>()) + component.log_prob(x));
  }
  return torch::logsumexp(torch::stack(terms), 0);
}

TEST(GaussianMixture, LogProbEqualsTheBruteForceSumForEveryCovarianceType) {
  for (auto type : kCovarianceTypes) {
    GaussianMixture mixture = random_mixture(type, 2);
    auto x = torch::randn({7, 4}, kF64) * 3;
    EXPECT_TRUE(torch::allclose(mixture.log_prob(x), brute_force_log_prob(mixture, x), 1e-10, 1e-9)) << to_string(type);
    EXPECT_TRUE(torch::allclose(mixture.responsibilities(x).sum(-1), torch::ones({7}, kF64)));
  }
}

TEST(GaussianMixture, MissingDimensionsAreMarginalizedExactly) {
  for (auto type : kCovarianceTypes) {
    GaussianMixture mixture = random_mixture(type, 3);
    auto x = torch::randn({2, 4}, kF64) * 2;
    auto mask = torch::tensor({{1.0, 0.0, 1.0, 1.0}, {0.0, 1.0, 0.0, 0.0}}, kF64);
    auto masked = mixture.log_prob(x, mask);
    auto covariances = mixture.full_covariances();
    for (int64_t b = 0; b < 2; ++b) {
      auto observed = mask[b].nonzero().squeeze(1);
      std::vector<torch::Tensor> terms;
      for (int64_t k = 0; k < mixture.components(); ++k) {
        auto c = covariances[k].index_select(0, observed).index_select(1, observed);
        MultivariateNormal marginal(mixture.means()[k].index_select(0, observed), torch::linalg_cholesky(c));
        terms.push_back(std::log(mixture.weights()[k].item<double>()) +
                        marginal.log_prob(x[b].index_select(0, observed)));
      }
      EXPECT_NEAR(masked[b].item<double>(), torch::logsumexp(torch::stack(terms), 0).item<double>(), 1e-9)
          << to_string(type) << " example " << b;
    }
  }
}

TEST(GaussianMixture, EstimatorsConvergeToTheExactMarginal) {
  GaussianMixture mixture = random_mixture(CovarianceType::kFull, 4);
  auto x = torch::randn({5, 4}, kF64) * 2;
  auto exact = mixture.log_prob(x);
  // Enumeration over the 3 components equals the closed form; the posterior
  // proposal is exact from one sample; naive Monte Carlo converges.
  GaussianMixture enumerated = mixture;
  EXPECT_TRUE(torch::allclose(exact_log_marginal(enumerated, x), exact));
  EXPECT_TRUE(torch::allclose(importance_sampling(mixture, x, {1, 0}).log_estimate, exact, 1e-10, 1e-9));
  seed_everything(5);
  auto naive = naive_monte_carlo(mixture, x, {20000, 5000});
  EXPECT_TRUE(torch::allclose(naive.log_estimate, exact, 0, 0.05)) << naive.log_estimate << "\n" << exact;
}

TEST(GaussianMixture, SamplesFollowTheMixture) {
  GaussianMixture mixture = test::three_clusters();
  seed_everything(6);
  auto [x, component] = mixture.sample(50000);
  EXPECT_NEAR(component.eq(1).to(torch::kFloat64).mean().item<double>(), 0.3, 0.01);
  auto first = x.index_select(0, component.eq(0).nonzero().squeeze(1));
  EXPECT_TRUE(torch::allclose(first.mean(0), torch::zeros({2}, kF64), 0, 0.02));
}

}  // namespace
}  // namespace dgm

namespace dgm {
namespace {
TEST(CovarianceStructure, EachTypeRoundTripsItsCovariancesAndCountsItsParameters) {
  const int64_t k = 3, d = 4;
  const std::pair<CovarianceType, int64_t> free[] = {{CovarianceType::kFull, k * d * (d + 1) / 2},
                                                     {CovarianceType::kTied, d * (d + 1) / 2},
                                                     {CovarianceType::kDiag, k * d},
                                                     {CovarianceType::kSpherical, k}};
  for (const auto& [type, count] : free) {
    GaussianMixture mixture = random_mixture(type, 21);
    const CovarianceStructure& policy = covariance_structure(type);
    EXPECT_EQ(policy.type(), type);
    EXPECT_EQ(policy.free_parameters(k, d), count) << to_string(type);
    EXPECT_EQ(policy.shape(k, d), mixture.precision_cholesky().sizes().vec()) << to_string(type);
    auto again = policy.precision_cholesky(policy.covariances(mixture.precision_cholesky()));
    EXPECT_TRUE(torch::allclose(again, mixture.precision_cholesky(), 1e-10, 1e-10)) << to_string(type);
    // Every type's full matrices: symmetric positive definite, K of them.
    auto full = policy.full_covariances(mixture.precision_cholesky(), k, d);
    EXPECT_EQ(full.sizes(), (std::vector<int64_t>{k, d, d})) << to_string(type);
    EXPECT_TRUE(torch::allclose(full, full.transpose(1, 2))) << to_string(type);
    EXPECT_FALSE(std::get<1>(torch::linalg_cholesky_ex(full)).gt(0).any().item<bool>()) << to_string(type);
  }
  auto bad = torch::tensor({1.0, -1.0, 2.0}, kF64);
  const auto message =
      test::error_message_of([&] { covariance_structure(CovarianceType::kSpherical).precision_cholesky(bad); });
  EXPECT_NE(message.find("component 1 is not positive definite"), std::string::npos) << message;
}

TEST(GaussianMixtureFiles, AFailedSaveLeavesThePreviousMixtureLoadable) {
  const auto dir = test::make_temp_dir("gmm-save");
  const GaussianMixture before = random_mixture(CovarianceType::kFull, 3);
  save_mixture(dir, before, {{"log_likelihood", -1.0}});
  const std::string before_json = read_text_file(dir + "/gmm.json");
  // The last of the five files cannot be written (its temporary name is
  // taken by a directory): the new parameters must not land beside the old
  // description.
  const std::string blocker = dir + "/gmm.json.tmp." + std::to_string(::getpid());
  std::filesystem::create_directory(blocker);
  const GaussianMixture after = random_mixture(CovarianceType::kDiag, 4);
  const auto message = test::error_message_of([&] { save_mixture(dir, after, {}); });
  EXPECT_NE(message.find("gmm.json"), std::string::npos) << message;
  std::filesystem::remove(blocker);
  EXPECT_EQ(read_text_file(dir + "/gmm.json"), before_json);
  const GaussianMixture loaded = load_mixture(dir, torch::kCPU, torch::kFloat64);
  EXPECT_EQ(loaded.type(), CovarianceType::kFull);
  EXPECT_TRUE(torch::equal(loaded.means(), before.means()));
  EXPECT_TRUE(torch::equal(read_npy(dir + "/means.npy"), before.means()));
  for (const auto& entry : std::filesystem::directory_iterator(dir))
    EXPECT_EQ(entry.path().filename().string().find(".tmp."), std::string::npos) << entry.path();
  // And with nothing in the way, the new mixture replaces the old whole.
  save_mixture(dir, after, {});
  EXPECT_EQ(load_mixture(dir, torch::kCPU, torch::kFloat64).type(), CovarianceType::kDiag);
  EXPECT_TRUE(torch::equal(read_npy(dir + "/means.npy"), after.means()));
}

}  // namespace
}  // namespace dgm
