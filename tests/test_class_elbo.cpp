// The bounds M2 trains with (estimators/class_elbo.h), against the same
// bounds written out by hand from the same draws, against log p(x) by
// quadrature (they lie below it), and the gradient they give q(y | x).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "core/error.h"
#include "core/random.h"
#include "estimators/class_elbo.h"
#include "estimators/class_sum.h"
#include "estimators/registry.h"
#include "models/class_latent.h"
#include "models/m2.h"
#include "test_support.h"
#include "tiny_m2.h"

namespace dgm {
namespace {

using test::kF64;

torch::Tensor tiny_x(int64_t n) {
  return test::binary_fashion_mnist(n, Split::kTest).narrow(1, 350, 6).to(torch::kFloat64);
}

/// KL(N(m, s^2) || N(0, I)) by its formula, summed over the last dimension.
torch::Tensor kl_to_standard(const DiagNormal& q) {
  return 0.5 * (q.loc().pow(2) + q.scale().pow(2) - 1.0 - 2.0 * q.scale().log()).sum(-1);
}

TEST(ClassElbo, UnlabelledIsTheSumOverClassesWrittenOutByHand) {
  M2 model = tiny_m2(21, 2);
  auto x = tiny_x(4);
  EstimatorOptions options;
  options.k = 3;
  seed_everything(2);
  auto got = class_elbo(*model, x, options);
  // By hand, from the same draws: L(x, y) for each class, then Σ_y q(y|x) (L - log q(y|x)).
  seed_everything(2);
  auto q = model->rest_proposal(x);  // batch [3, 4]
  auto w = q.rsample(3);             // [3 draws, 3 classes, 4, 2]
  auto log_q_y = model->class_log_proposal(x);
  for (int64_t b = 0; b < 4; ++b) {
    double expected = 0.0;
    for (int64_t y = 0; y < 3; ++y) {
      double log_likelihood = 0.0;
      for (int64_t s = 0; s < 3; ++s)
        log_likelihood += model
                              ->log_likelihood_given_class(x.slice(0, b, b + 1), torch::full({1, 1}, y, torch::kLong),
                                                           w[s][y][b].view({1, 1, 2}))
                              .item<double>() /
                          3.0;
      const double kl = kl_to_standard(DiagNormal(q.loc()[y][b], q.scale()[y][b])).item<double>();
      const double bound = log_likelihood - kl - std::log(3.0);
      const double log_qy = log_q_y[b][y].item<double>();
      expected += std::exp(log_qy) * (bound - log_qy);
    }
    EXPECT_NEAR(got.value[b].item<double>(), expected, 1e-10);
    EXPECT_NEAR(got.objective[b].item<double>(), expected, 1e-10);
  }
}

TEST(ClassElbo, LabelledIsTheBoundOfTheClassPlusTheWeightedClassifierTerm) {
  M2 model = tiny_m2(21, 2);
  auto x = tiny_x(3);
  EstimatorOptions options;
  options.k = 2;
  options.labels = torch::tensor({2, 0, 1}, torch::kLong);
  options.class_weight = 7.5;
  seed_everything(3);
  auto got = class_elbo(*model, x, options);
  seed_everything(3);
  auto q = model->rest_proposal_given(x, options.labels);  // batch [3]
  auto w = q.rsample(2);                                   // [2, 3, 2]
  auto log_q_y = model->class_log_proposal(x);
  for (int64_t b = 0; b < 3; ++b) {
    const int64_t y = options.labels[b].item<int64_t>();
    double log_likelihood = 0.0;
    for (int64_t s = 0; s < 2; ++s)
      log_likelihood += model
                            ->log_likelihood_given_class(x.slice(0, b, b + 1), torch::full({1, 1}, y, torch::kLong),
                                                         w[s][b].view({1, 1, 2}))
                            .item<double>() /
                        2.0;
    const double bound =
        log_likelihood - kl_to_standard(DiagNormal(q.loc()[b], q.scale()[b])).item<double>() - std::log(3.0);
    EXPECT_NEAR(got.value[b].item<double>(), bound, 1e-10);
    EXPECT_NEAR(got.objective[b].item<double>(), bound + 7.5 * log_q_y[b][y].item<double>(), 1e-10);
  }
}

TEST(ClassElbo, AMixedBatchKeepsTheOrderOfItsExamples) {
  M2 model = tiny_m2(21, 2);
  auto x = tiny_x(5);
  EstimatorOptions mixed;
  mixed.labels = torch::tensor({-1, 1, -1, -1, 0}, torch::kLong);
  seed_everything(4);
  auto got = class_elbo(*model, x, mixed).value;
  // The hidden rows are drawn first, then the labelled ones.
  seed_everything(4);
  auto hidden_rows = torch::tensor({0, 2, 3}, torch::kLong), known_rows = torch::tensor({1, 4}, torch::kLong);
  auto hidden = class_elbo(*model, x.index_select(0, hidden_rows)).value;
  EstimatorOptions known;
  known.labels = torch::tensor({1, 0}, torch::kLong);
  auto labelled = class_elbo(*model, x.index_select(0, known_rows), known).value;
  EXPECT_TRUE(torch::allclose(got.index_select(0, hidden_rows), hidden, 0, 1e-12));
  EXPECT_TRUE(torch::allclose(got.index_select(0, known_rows), labelled, 0, 1e-12));
}

TEST(ClassElbo, BothBoundsLieBelowLogPOfX) {
  M2 model = tiny_m2(5);
  torch::NoGradGuard no_grad;
  auto x = tiny_x(6);
  auto exact = torch::logsumexp(quadrature_log_joint(*model, x), -1);
  EstimatorOptions estimator;
  estimator.k = 4000;  // the bounds' own Monte Carlo error is then well below the gaps
  seed_everything(6);
  auto unlabelled = class_elbo(*model, x, estimator).value;
  estimator.labels = torch::tensor({0, 1, 2, 0, 1, 2}, torch::kLong);
  auto labelled = class_elbo(*model, x, estimator).value;
  for (int64_t b = 0; b < 6; ++b) {
    EXPECT_LT(unlabelled[b].item<double>(), exact[b].item<double>()) << b;
    EXPECT_LT(labelled[b].item<double>(), exact[b].item<double>()) << b;
    EXPECT_GT(unlabelled[b].item<double>(), exact[b].item<double>() - 20.0) << b;  // a bound, not a wild number
  }
}

TEST(ClassElbo, GivesTheClassifierAGradientWhereDrawingYGivesNone) {
  M2 model = tiny_m2(21, 2);
  auto x = tiny_x(4);
  auto classifier_gradient = [&](const std::string& estimator) {
    model->zero_grad();
    for (auto& p : model->parameters()) p.mutable_grad() = torch::Tensor();
    seed_everything(8);
    estimate(estimator, *model, x).objective.sum().backward();
    double norm = 0.0;
    for (const auto& item : model->named_parameters())
      if (item.key().rfind("classifier", 0) == 0 && item.value().grad().defined())
        norm += item.value().grad().pow(2).sum().item<double>();
    return norm;
  };
  EXPECT_GT(classifier_gradient("class_elbo"), 1e-8);
  // Drawing y instead gives no reparameterized path into q(y | x): what the
  // trainer refuses (test_semi_supervised.cpp).
  EXPECT_FALSE(model->proposal(x)->has_rsample());
}

TEST(ClassElbo, BadLabelsAndModelsWithoutAClassAreNamed) {
  M2 model = tiny_m2(21, 2);
  auto x = tiny_x(2);
  EstimatorOptions options;
  options.labels = torch::tensor({0, 3}, torch::kLong);
  EXPECT_NE(test::error_message_of([&] { class_elbo(*model, x, options); }).find("label 3 is not a class"),
            std::string::npos);
  options.labels = torch::tensor({0}, torch::kLong);
  EXPECT_NE(test::error_message_of([&] { class_elbo(*model, x, options); }).find("one label per example"),
            std::string::npos);
  Vae vae = test::make_vae(2, {8});
  EXPECT_NE(test::error_message_of([&] {
              class_elbo(*vae, torch::rand({2, 784}));
            }).find("has none"),
            std::string::npos);
  EXPECT_FALSE(estimator_registry().at("class_elbo").applies(*vae));
  EXPECT_TRUE(estimator_registry().at("class_elbo").takes_labels);
}

}  // namespace
}  // namespace dgm
