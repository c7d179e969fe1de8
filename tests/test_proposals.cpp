// Proposals (estimators/proposal.h), the q(z | x) an estimator draws from:
// the model's own, its exact posterior (refused where the model has none),
// the prior, a widened copy, uniform over a finite latent space, and their
// names as `dgm estimate --proposal` takes them.

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "core/distributions.h"
#include "core/error.h"
#include "estimators/proposal.h"
#include "test_support.h"

namespace dgm {
namespace {

using test::LinearGaussianModel;
using test::kF64;

TEST(Proposals, TheModelsOwnThePosteriorAndThePrior) {
  LinearGaussianModel exact(3, 1.0, 0.5, LinearGaussianModel::Proposal::kPosterior);
  LinearGaussianModel blind(3, 1.0, 0.5, LinearGaussianModel::Proposal::kPrior);
  auto x = torch::randn({4, 3}, kF64);
  auto own = std::dynamic_pointer_cast<DiagNormal>(model_proposal()(exact, x, {}));
  // p(z | x) = N(a x / (a^2 + s^2), s^2 / (a^2 + s^2)), coordinate by coordinate.
  EXPECT_TRUE(torch::allclose(own->loc(), x / 1.25));
  EXPECT_TRUE(torch::allclose(own->scale(), torch::full_like(x, std::sqrt(0.25 / 1.25))));
  EXPECT_TRUE(
      torch::allclose(std::dynamic_pointer_cast<DiagNormal>(posterior_proposal()(exact, x, {}))->loc(), own->loc()));
  const auto message = test::error_message_of([&] { posterior_proposal()(blind, x, {}); });
  EXPECT_NE(message.find("no exact posterior"), std::string::npos) << message;
  auto prior = std::dynamic_pointer_cast<DiagNormal>(prior_proposal()(exact, x, {}));
  EXPECT_TRUE(torch::allclose(prior->loc(), torch::zeros_like(x)));
  EXPECT_TRUE(torch::allclose(prior->scale(), torch::ones_like(x)));
}

TEST(Proposals, WidenedScalesTheProposalAndKeepsItsMean) {
  LinearGaussianModel model(2, 1.0, 0.5, LinearGaussianModel::Proposal::kPosterior);
  auto x = torch::randn({5, 2}, kF64);
  auto own = std::dynamic_pointer_cast<DiagNormal>(model_proposal()(model, x, {}));
  auto wide = std::dynamic_pointer_cast<DiagNormal>(widened_proposal(1.5)(model, x, {}));
  ASSERT_NE(wide, nullptr);
  EXPECT_TRUE(torch::allclose(wide->loc(), own->loc()));
  EXPECT_TRUE(torch::allclose(wide->scale(), 1.5 * own->scale()));
  EXPECT_THROW(widened_proposal(0.0), Error);
  EXPECT_THROW(widened_proposal(-2.0), Error);
}

TEST(Proposals, UniformCoversAFiniteLatentSpaceAndOnlyThat) {
  GaussianMixture mixture = test::three_clusters();
  auto x = test::three_cluster_points(4);
  auto q = uniform_proposal()(mixture, x, {});
  auto z = torch::arange(3, torch::kLong).view({3, 1}).expand({3, 4});
  EXPECT_TRUE(torch::allclose(q->log_prob(z), torch::full({3, 4}, -std::log(3.0), kF64)));
  LinearGaussianModel continuous(2, 1.0, 0.5, LinearGaussianModel::Proposal::kPosterior);
  const auto message = test::error_message_of([&] { uniform_proposal()(continuous, torch::zeros({1, 2}, kF64), {}); });
  EXPECT_NE(message.find("finite latent space"), std::string::npos) << message;
}

TEST(Proposals, NamesAsTheCommandLineWritesThem) {
  LinearGaussianModel model(2, 1.0, 0.5, LinearGaussianModel::Proposal::kPosterior);
  auto x = torch::randn({3, 2}, kF64);
  auto wide = std::dynamic_pointer_cast<DiagNormal>(parse_proposal("widened:2")(model, x, {}));
  auto own = std::dynamic_pointer_cast<DiagNormal>(parse_proposal("encoder")(model, x, {}));
  EXPECT_TRUE(torch::allclose(wide->scale(), 2 * own->scale()));
  EXPECT_NO_THROW(parse_proposal("prior"));
  EXPECT_NO_THROW(parse_proposal("posterior"));
  EXPECT_NO_THROW(parse_proposal("uniform"));
  EXPECT_NE(test::error_message_of([] { parse_proposal("widened:abc"); }).find("widened:F"), std::string::npos);
  EXPECT_NE(test::error_message_of([] { parse_proposal("oracle"); }).find("unknown proposal 'oracle'"),
            std::string::npos);
}

}  // namespace
}  // namespace dgm
