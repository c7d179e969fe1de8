// The exact log p(x) (estimators/exact_marginal.h): a model's closed form, or
// the sum over a finite latent space enumerated in chunks, each against the
// other and against a sum written by hand; what it cannot answer is named.

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "core/error.h"
#include "core/random.h"
#include "estimators/exact_marginal.h"
#include "test_support.h"

namespace dgm {
namespace {

using test::kF64;

/// A mixture seen only through its finite latent space: no closed form, so
/// exact_log_marginal must enumerate z.
class EnumeratedMixture : public LatentVariableModel {
 public:
  explicit EnumeratedMixture(GaussianMixture mixture) : mixture_(std::move(mixture)) {}
  std::shared_ptr<Distribution> prior(int64_t batch) override { return mixture_.prior(batch); }
  std::shared_ptr<Distribution> proposal(const torch::Tensor& x, const torch::Tensor& mask) override {
    return mixture_.proposal(x, mask);
  }
  std::shared_ptr<Distribution> likelihood(const torch::Tensor& z) override { return mixture_.likelihood(z); }
  torch::Tensor log_likelihood(const torch::Tensor& x, const torch::Tensor& z, const torch::Tensor& mask) override {
    return mixture_.log_likelihood(x, z, mask);
  }
  int64_t latent_support_size() const override { return mixture_.latent_support_size(); }
  torch::Tensor latent_values(const torch::Tensor& indices) const override { return indices; }
  int64_t data_dim() const override { return mixture_.data_dim(); }
  int64_t latent_dim() const override { return 1; }

 private:
  GaussianMixture mixture_;
};

TEST(ExactMarginal, EnumerationInAnyChunkEqualsTheClosedForm) {
  GaussianMixture mixture = test::three_clusters();
  EnumeratedMixture enumerated(mixture);
  auto x = test::three_cluster_points(7);
  auto closed = exact_log_marginal(mixture, x);
  EXPECT_TRUE(torch::allclose(closed, *mixture.closed_form_log_marginal(x)));
  for (int64_t chunk : {0, 1, 2, 3, 10}) {
    EstimatorOptions options;
    options.chunk = chunk;
    EXPECT_TRUE(torch::allclose(exact_log_marginal(enumerated, x, options), closed, 1e-12, 1e-10)) << chunk;
  }
  EXPECT_TRUE(has_exact_marginal(enumerated));
}

TEST(ExactMarginal, SumsOnlyTheObservedEntriesUnderAMask) {
  GaussianMixture mixture = test::three_clusters();
  EnumeratedMixture enumerated(mixture);
  auto x = test::three_cluster_points(5);
  auto mask = torch::ones_like(x);
  mask.select(1, 1).fill_(0);
  // The observed coordinate's marginal: a 1-D mixture, written by hand.
  auto means = mixture.means().select(1, 0);
  auto variances = mixture.covariances().select(1, 0).select(1, 0);
  auto log_components = torch::log(mixture.weights()) - 0.5 * torch::log(2 * M_PI * variances) -
                        0.5 * (x.select(1, 0).unsqueeze(1) - means).pow(2) / variances;
  auto by_hand = torch::logsumexp(log_components, 1);
  EXPECT_TRUE(torch::allclose(exact_log_marginal(enumerated, x, {}, mask), by_hand, 1e-12, 1e-10));
  EXPECT_TRUE(torch::allclose(exact_log_marginal(mixture, x, {}, mask), by_hand, 1e-12, 1e-10));
}

TEST(ExactMarginal, WhatItCannotAnswerIsNamed) {
  test::LinearGaussianModel continuous(2, 1.0, 0.5, test::LinearGaussianModel::Proposal::kPosterior);
  EXPECT_FALSE(has_exact_marginal(continuous));
  EXPECT_NE(test::error_message_of([&] {
              exact_log_marginal(continuous, torch::zeros({1, 2}, kF64));
            }).find("continuous latent space"),
            std::string::npos);
  seed_everything(1);
  SigmoidBeliefNet huge(test::sbn_options(30), DataShape{4, {}});
  EXPECT_FALSE(has_exact_marginal(*huge));
  EXPECT_NE(test::error_message_of([&] {
              exact_log_marginal(*huge, torch::zeros({1, 4}));
            }).find("2^30"),
            std::string::npos);
  EstimatorOptions negative;
  negative.chunk = -1;
  GaussianMixture mixture = test::three_clusters();
  EnumeratedMixture enumerated(mixture);
  EXPECT_NE(test::error_message_of([&] {
              exact_log_marginal(enumerated, test::three_cluster_points(2), negative);
            }).find("chunk = -1"),
            std::string::npos);
}

}  // namespace
}  // namespace dgm
