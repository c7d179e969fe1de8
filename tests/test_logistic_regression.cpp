// The probe's logistic regression (trainers/logistic_regression.h) against
// scikit-learn's on the same points (tests/fixtures/make_sklearn_fixtures.py),
// and on a linearly separable label it must recover.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "core/error.h"
#include "core/npy.h"
#include "estimators/classification.h"
#include "test_support.h"
#include "trainers/label_classifier.h"
#include "trainers/logistic_regression.h"

namespace dgm {
namespace {

using test::kFixtures;

TEST(LogisticRegression, EqualsScikitLearnsFitOfTheSamePoints) {
  auto features = read_npy(kFixtures + "lr_features.npy"), labels = read_npy(kFixtures + "lr_labels.npy");
  LogisticRegressionOptions options;
  options.c = 0.5;
  options.standardize = false;  // scikit-learn's fit sees the features as they are
  const auto fit = fit_logistic_regression(features, labels, 3, options);
  EXPECT_LT((fit.weight - read_npy(kFixtures + "lr_coef.npy")).abs().max().item<double>(), 1e-5);
  EXPECT_LT((fit.bias - read_npy(kFixtures + "lr_intercept.npy")).abs().max().item<double>(), 1e-5);
  EXPECT_LT((fit.log_probs(features).exp() - read_npy(kFixtures + "lr_probs.npy")).abs().max().item<double>(), 1e-5);
  // Standardized, it is the same fit on standardized features.
  options.standardize = true;
  const auto standardized = fit_logistic_regression(features, labels, 3, options);
  auto scaled = (features - features.mean(0)) / features.std(0, false);
  options.standardize = false;
  const auto by_hand = fit_logistic_regression(scaled, labels, 3, options);
  EXPECT_LT((standardized.log_probs(features) - by_hand.log_probs(scaled)).abs().max().item<double>(), 1e-7);
}

TEST(LogisticRegression, RecoversALinearlySeparableLabelAndSkipsHiddenRows) {
  torch::manual_seed(3);
  auto x = torch::randn({400, 6}, torch::kFloat64);
  auto direction = torch::randn({6}, torch::kFloat64);
  auto projection = torch::matmul(x, direction);
  auto labels = (projection > 0.5).to(torch::kLong) + (projection > -0.5).to(torch::kLong);  // 3 bands
  auto train_labels = labels.clone();
  train_labels.slice(0, 200).fill_(-1);  // only the first half is labelled
  LogisticRegressionOptions options;
  options.c = 1000.0;
  const auto fit = fit_logistic_regression(x, train_labels, 3, options);
  EXPECT_GE(accuracy(labels.slice(0, 0, 200), fit.predict(x.slice(0, 0, 200))), 0.99);
  EXPECT_GE(accuracy(labels.slice(0, 200), fit.predict(x.slice(0, 200))), 0.95);
  // Labels shuffled against x cannot be learned: the test has power.
  auto shuffled = labels.index_select(0, torch::randperm(400, torch::kLong));
  shuffled.slice(0, 200).fill_(-1);
  EXPECT_LT(accuracy(labels.slice(0, 200), fit_logistic_regression(x, shuffled, 3, options).predict(x.slice(0, 200))),
            0.6);
}

TEST(LogisticRegression, NoLabelledRowOrAForeignClassIsNamed) {
  auto x = torch::randn({4, 2});
  EXPECT_NE(test::error_message_of([&] {
              fit_logistic_regression(x, torch::full({4}, -1, torch::kLong), 2);
            }).find("no labelled row"),
            std::string::npos);
  EXPECT_NE(test::error_message_of([&] {
              fit_logistic_regression(x, torch::tensor({0, 1, 5, 1}), 2);
            }).find("label 5 is not one of 2 classes"),
            std::string::npos);
}

TEST(LabelClassifier, LearnsTheLabelsItIsGiven) {
  torch::manual_seed(5);
  auto x = torch::randn({300, 4});
  auto labels = (x.select(1, 0) * x.select(1, 1) > 0).to(torch::kLong);  // not linear: XOR of two signs
  LabelClassifierOptions options;
  options.hidden = {32};
  options.steps = 1500;
  options.batch_size = 50;
  auto train = labels.clone();
  train.slice(0, 200).fill_(-1);
  Mlp network = train_label_classifier(x, train, 2, options);
  torch::NoGradGuard no_grad;
  EXPECT_GE(accuracy(labels.slice(0, 200), network->forward(x.slice(0, 200)).argmax(-1)), 0.85);
}

}  // namespace
}  // namespace dgm
