// Probabilistic PCA: the closed-form fit, marginal and posterior against dense
// Gaussian computations.

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "core/distributions.h"
#include "core/error.h"
#include "models/ppca.h"
#include "test_support.h"

namespace dgm {
namespace {

using test::kF64;

PpcaImpl random_ppca(int64_t d, int64_t l, double noise, uint64_t seed) {
  torch::manual_seed(seed);
  return PpcaImpl(torch::randn({d, l}, kF64), torch::randn({d}, kF64), noise);
}

torch::Tensor dense_covariance(const PpcaImpl& model) {
  return model.weight().mm(model.weight().t()) + model.noise_variance() * torch::eye(model.data_dim(), kF64);
}

torch::Tensor draw(const PpcaImpl& model, int64_t n) {
  auto z = torch::randn({n, model.latent_dim()}, kF64);
  return z.mm(model.weight().t()) + model.mean() +
         std::sqrt(model.noise_variance()) * torch::randn({n, model.data_dim()}, kF64);
}

TEST(Ppca, FitRecoversTheGeneratingCovarianceAndNoise) {
  const PpcaImpl truth = random_ppca(6, 2, 0.1, 1);
  auto x = draw(truth, 50000);
  const PpcaImpl fitted = *fit_ppca(x, 2);
  EXPECT_NEAR(fitted.noise_variance(), 0.1, 0.005);
  EXPECT_TRUE(torch::allclose(dense_covariance(fitted), dense_covariance(truth), 0.05, 0.08));
  EXPECT_TRUE(torch::allclose(fitted.mean(), truth.mean(), 0, 0.03));
}

TEST(Ppca, FitRejectsImpossibleLatentSizes) {
  auto x = torch::randn({10, 4}, kF64);
  EXPECT_THROW(fit_ppca(x, 4), Error);
  EXPECT_THROW(fit_ppca(x, 0), Error);
  EXPECT_THROW(fit_ppca(x.slice(0, 0, 1), 2), Error);
}

TEST(Ppca, ClosedFormMarginalEqualsTheDenseGaussian) {
  PpcaImpl model = random_ppca(7, 3, 0.3, 2);
  auto x = draw(model, 5);
  MultivariateNormal dense(model.mean(), torch::linalg_cholesky(dense_covariance(model)));
  EXPECT_TRUE(torch::allclose(*model.closed_form_log_marginal(x), dense.log_prob(x), 1e-10, 1e-9));
}

TEST(Ppca, MaskedMarginalEqualsTheDenseMarginalOfTheObservedCoordinates) {
  PpcaImpl model = random_ppca(7, 3, 0.3, 3);
  auto x = draw(model, 3);
  auto mask = torch::tensor({{1, 1, 0, 1, 0, 0, 1}, {0, 0, 0, 0, 0, 1, 1}, {1, 1, 1, 1, 1, 1, 1}}, kF64);
  auto masked = *model.closed_form_log_marginal(x, mask);
  auto covariance = dense_covariance(model);
  for (int64_t b = 0; b < 3; ++b) {
    auto observed = mask[b].nonzero().squeeze(1);
    auto c = covariance.index_select(0, observed).index_select(1, observed);
    MultivariateNormal marginal(model.mean().index_select(0, observed), torch::linalg_cholesky(c));
    EXPECT_NEAR(masked[b].item<double>(), marginal.log_prob(x[b].index_select(0, observed)).item<double>(), 1e-9)
        << "example " << b;
  }
}

TEST(Ppca, ProposalIsTheExactPosteriorWithAndWithoutAMask) {
  // Bayes: log p(x, z) - log p(z | x) = log p(x) for every z.
  PpcaImpl model = random_ppca(6, 2, 0.2, 4);
  auto x = draw(model, 4);
  auto mask = torch::bernoulli(torch::full({4, 6}, 0.6, kF64));
  mask.select(1, 0).fill_(1);
  for (const auto& m : {torch::Tensor(), mask}) {
    auto q = model.proposal(x, m);
    auto z = torch::randn({9, 4, 2}, kF64) * 3.0;  // anywhere, not only where q puts mass
    auto log_marginal = model.log_joint(x, z, m) - q->log_prob(z);
    auto exact = *model.closed_form_log_marginal(x, m);
    EXPECT_TRUE(torch::allclose(log_marginal, exact.expand({9, 4}), 1e-9, 1e-8));
  }
}

}  // namespace
}  // namespace dgm
