// M2's latent z = (y, w) and the seed's sum over y, against a second code
// path: log p(x) and p(y | x) by quadrature over a one-dimensional w.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "core/error.h"
#include "core/random.h"
#include "estimators/class_sum.h"
#include "estimators/registry.h"
#include "models/class_latent.h"
#include "models/m2.h"
#include "test_support.h"
#include "tiny_m2.h"

namespace dgm {
namespace {

using test::kF64;

TEST(ClassAndNormal, LogProbIsTheClassTermPlusTheNormalOfItsClass) {
  auto logits = torch::tensor({{0.2, -1.0, 0.5}, {1.5, 0.0, -0.3}}, kF64);
  auto loc = torch::randn({3, 2, 2}, kF64);
  auto scale = torch::rand({3, 2, 2}, kF64) + 0.5;
  ClassAndNormal q(logits, loc, scale);
  auto z = torch::tensor({{{2.0, 0.3, -0.1}, {0.0, 1.0, 2.0}}, {{1.0, -0.5, 0.4}, {2.0, 0.0, 0.0}}}, kF64);
  auto got = q.log_prob(z);
  auto log_p = torch::log_softmax(logits, -1);
  for (int64_t s = 0; s < 2; ++s) {
    for (int64_t b = 0; b < 2; ++b) {
      const int64_t y = z[s][b][0].item<int64_t>();
      double expected = log_p[b][y].item<double>();
      for (int64_t d = 0; d < 2; ++d) {
        const double m = loc[y][b][d].item<double>(), sd = scale[y][b][d].item<double>();
        const double v = z[s][b][1 + d].item<double>();
        expected += -0.5 * std::pow((v - m) / sd, 2) - std::log(sd) - 0.5 * std::log(2 * M_PI);
      }
      EXPECT_NEAR(got[s][b].item<double>(), expected, 1e-12);
    }
  }
}

TEST(ClassAndNormal, SamplesFollowTheClassProbabilitiesAndTheirClassesNormal) {
  auto logits = torch::tensor({{0.0, 1.0, -1.0}}, kF64);
  auto loc = torch::tensor({-5.0, 0.0, 5.0}, kF64).view({3, 1, 1});
  ClassAndNormal q(logits, loc, torch::full({3, 1, 1}, 0.5, kF64));
  torch::manual_seed(3);
  const int64_t n = 40000;
  auto z = q.sample(n);  // [n, 1, 2]
  ASSERT_EQ(z.sizes(), (std::vector<int64_t>{n, 1, 2}));
  auto y = class_of(z).squeeze(1);
  auto p = torch::softmax(logits, -1)[0];
  for (int64_t c = 0; c < 3; ++c) {
    auto in_class = y == c;
    const double share = in_class.to(torch::kFloat64).mean().item<double>();
    const double pc = p[c].item<double>();
    EXPECT_NEAR(share, pc, 4 * std::sqrt(pc * (1 - pc) / n));
    auto w = rest_of(z).squeeze(-1).squeeze(-1).masked_select(in_class);
    EXPECT_NEAR(w.mean().item<double>(), loc[c][0][0].item<double>(), 0.02);
  }
}

TEST(ClassSum, EqualsTheSumWrittenOutByHandFromTheSameDraws) {
  M2 model = tiny_m2(11);
  torch::NoGradGuard no_grad;
  auto x = test::binary_fashion_mnist(4, Split::kTest).narrow(1, 300, 6).to(torch::kFloat64);
  EstimatorOptions options;
  options.k = 7;
  options.chunk = 3;
  seed_everything(5);
  auto got = class_log_joint(*model, x, options);  // [B, K]
  // By hand: the same draws (3, 3, then 1 per class), each weighed alone.
  seed_everything(5);
  auto q = model->rest_proposal(x);
  std::vector<torch::Tensor> draws{q.rsample(3), q.rsample(3), q.rsample(1)};
  auto w = torch::cat(draws, 0);  // [7, K, B, 1]
  for (int64_t b = 0; b < x.size(0); ++b) {
    for (int64_t y = 0; y < 3; ++y) {
      std::vector<double> log_weights;
      for (int64_t i = 0; i < 7; ++i) {
        auto wi = w[i][y][b].view({1, 1, 1});
        auto xb = x.slice(0, b, b + 1);
        const double log_p =
            -std::log(3.0) - 0.5 * wi.pow(2).item<double>() - 0.5 * std::log(2 * M_PI) +
            model->log_likelihood_given_class(xb, torch::full({1, 1}, y, torch::kLong), wi).item<double>();
        const double log_q = DiagNormal(q.loc()[y][b], q.scale()[y][b]).log_prob(w[i][y][b]).item<double>();
        log_weights.push_back(log_p - log_q);
      }
      const double log_mean = torch::logsumexp(torch::tensor(log_weights, kF64), 0).item<double>() - std::log(7.0);
      EXPECT_NEAR(got[b][y].item<double>(), log_mean, 1e-10);
    }
  }
}

TEST(ClassSum, GivesLogPOfXAndTheClassPosteriorOfQuadrature) {
  M2 model = tiny_m2(11);
  torch::NoGradGuard no_grad;
  auto x = test::binary_fashion_mnist(5, Split::kTest).narrow(1, 400, 6).to(torch::kFloat64);
  auto exact_joint = quadrature_log_joint(*model, x);
  auto exact = torch::logsumexp(exact_joint, -1);
  EstimatorOptions options;
  options.k = 20000;
  options.chunk = 5000;
  seed_everything(6);
  EXPECT_TRUE(torch::allclose(class_sum_log_marginal(*model, x, options), exact, 0, 0.01));
  seed_everything(7);
  auto posterior = class_log_posterior(*model, x, options).exp();
  EXPECT_TRUE(torch::allclose(posterior, torch::softmax(exact_joint, -1), 0, 0.005));
  // The registered estimators answer the same on the mixed latent: z = (y, w)
  // drawn from q(y | x) q(w | x, y).
  seed_everything(8);
  EXPECT_TRUE(torch::allclose(estimate("is", *model, x, options).value, exact, 0, 0.03));
  seed_everything(9);
  EXPECT_TRUE(torch::allclose(estimate("class_sum", *model, x, options).value, exact, 0, 0.01));
}

TEST(ClassSum, AMaskMarginalizesTheHiddenPixels) {
  M2 model = tiny_m2(11);
  torch::NoGradGuard no_grad;
  auto x = test::binary_fashion_mnist(3, Split::kTest).narrow(1, 500, 6).to(torch::kFloat64);
  auto mask = torch::tensor({1.0, 1.0, 0.0, 1.0, 0.0, 1.0}, kF64).expand({3, 6});
  // Hidden pixels summed out by hand: p(x_obs) = Σ over their 4 values of p(x).
  std::vector<torch::Tensor> completions;
  for (int64_t a = 0; a < 2; ++a) {
    for (int64_t b = 0; b < 2; ++b) {
      auto filled = x.clone();
      filled.select(1, 2).fill_(a);
      filled.select(1, 4).fill_(b);
      completions.push_back(torch::logsumexp(quadrature_log_joint(*model, filled), -1));
    }
  }
  auto exact = torch::logsumexp(torch::stack(completions), 0);
  EstimatorOptions options;
  options.k = 20000;
  seed_everything(10);
  EXPECT_TRUE(torch::allclose(class_sum_log_marginal(*model, x, options, mask), exact, 0, 0.01));
}

TEST(MlpWithClasses, EqualsTheForwardPassOnTheOneHotInput) {
  torch::manual_seed(12);
  Mlp mlp(MlpOptions(5 + 3, {7, 6}, 4).activation(Activation::kSoftplus));
  mlp->to(torch::kFloat64);
  auto x = torch::randn({2, 5}, kF64);
  auto y = torch::tensor({{0, 2}, {1, 1}, {2, 0}}, torch::kLong);  // [3, B]: any leading shape
  auto expected =
      mlp->forward(torch::cat({x.unsqueeze(0).expand({3, 2, 5}), torch::one_hot(y, 3).to(torch::kFloat64)}, -1));
  EXPECT_TRUE(torch::allclose(mlp->forward_with_classes(x, y, 3), expected, 0, 1e-12));
  EXPECT_TRUE(torch::allclose(mlp->forward_with_classes(x, y[1], 3), expected[1], 0, 1e-12));
}

TEST(M2, TheEncoderOfGivenClassesIsTheRowOfEveryClass) {
  M2 model = tiny_m2(11, 1, 4);
  auto x = test::binary_fashion_mnist(3, Split::kTest).narrow(1, 300, 6).to(torch::kFloat64);
  auto all = model->rest_proposal(x);
  auto y = torch::tensor({3, 0, 2}, torch::kLong);
  auto given = model->rest_proposal_given(x, y);
  for (int64_t b = 0; b < 3; ++b) {
    EXPECT_TRUE(torch::allclose(given.loc()[b], all.loc()[y[b].item<int64_t>()][b], 0, 1e-12));
    EXPECT_TRUE(torch::allclose(given.scale()[b], all.scale()[y[b].item<int64_t>()][b], 0, 1e-12));
  }
  // The interface's default (the row of rest_proposal) gives the same.
  auto by_default = model->ClassLatentModel::rest_proposal_given(x, y);
  EXPECT_TRUE(torch::allclose(by_default.loc(), given.loc(), 0, 1e-12));
}

TEST(M2, APointEstimateIsTheMostProbableClassWithTheMeanOfItsW) {
  auto logits = torch::tensor({{0.1, 2.0, -1.0}, {3.0, 0.0, 0.0}}, kF64);
  auto loc = torch::randn({3, 2, 4}, kF64);
  ClassAndNormal q(logits, loc, torch::ones({3, 2, 4}, kF64));
  auto z = q.point_estimate();
  ASSERT_EQ(z.sizes(), (std::vector<int64_t>{2, 5}));
  EXPECT_TRUE(class_of(z).equal(torch::tensor({1, 0}, torch::kLong)));
  EXPECT_TRUE(torch::allclose(rest_of(z)[0], loc[1][0]));
  EXPECT_TRUE(torch::allclose(rest_of(z)[1], loc[0][1]));
}

TEST(M2, ConvolutionalNetworksGiveTheSameKindOfModel) {
  torch::manual_seed(13);
  M2Options options;
  options.network = Network::kConv;
  options.conv_channels = {4, 8};
  options.hidden = {16};
  options.latent_dim = 3;
  options.classes = 4;
  M2 model(options, DataShape{7 * 9, {7, 9}});
  model->to(torch::kFloat64);
  auto x = torch::bernoulli(torch::full({5, 63}, 0.3, kF64));
  EXPECT_EQ(model->class_log_proposal(x).sizes(), (std::vector<int64_t>{5, 4}));
  EXPECT_EQ(model->rest_proposal(x).loc().sizes(), (std::vector<int64_t>{4, 5, 3}));
  EstimatorOptions estimator;
  estimator.k = 3;
  seed_everything(1);
  auto log_p = class_sum_log_marginal(*model, x, estimator);
  EXPECT_TRUE(torch::isfinite(log_p).all().item<bool>());
  EXPECT_EQ(model->likelihood(model->prior(5)->sample(2))->mean().sizes(), (std::vector<int64_t>{2, 5, 63}));
  // Pictures are needed; an MLP without hidden layers is refused.
  EXPECT_NE(test::error_message_of([&] { M2(options, DataShape{63, {}}); }).find("needs pictures"), std::string::npos);
  M2Options flat;
  flat.hidden = {};
  EXPECT_NE(test::error_message_of([&] { M2(flat, DataShape{63, {}}); }).find("model.hidden"), std::string::npos);
}

TEST(ClassSum, AModelWithoutAClassIsNamed) {
  Vae vae = test::make_vae(2, {8});
  auto x = torch::rand({2, vae->data_dim()});
  try {
    estimate("class_sum", *vae, x);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("has none"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(estimator_registry().at("class_sum").applies(*vae));
  EXPECT_TRUE(estimator_registry().at("class_sum").applies(*tiny_m2(11)));
}

}  // namespace
}  // namespace dgm
