// Training with some labels (trainers/trainer.h BatchPlan, the class_elbo
// objective): the batches mix labelled and unlabelled examples with weights
// that make each step's loss the objective's mean over all examples, resume
// is exact, and an objective that cannot reach q(y | x) is refused.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "core/error.h"
#include "core/random.h"
#include "estimators/registry.h"
#include "models/m2.h"
#include "test_support.h"
#include "trainers/run_directory.h"
#include "trainers/trainer.h"

namespace dgm {
namespace {

ImageSet labelled_set(int64_t n, int64_t labelled) {
  auto labels = torch::full({n}, -1, torch::kLong);
  for (int64_t i = 0; i < labelled; ++i) labels[i * (n / labelled)] = i % 3;
  return {torch::rand({n, 4}), {}, "test", labels};
}

TEST(BatchPlan, StepsMixLabelledExamplesInProportionWithWeightsThatSumToOne) {
  ImageSet train = labelled_set(1000, 40);  // 960 unlabelled, 40 labelled
  TrainerOptions options;
  options.batch_size = 96;
  options.seed = 3;
  const BatchPlan plan(train, true, options);
  EXPECT_TRUE(plan.mixes_labelled());
  EXPECT_EQ(plan.steps_per_epoch(), 10);  // epochs pass over the 960 unlabelled ones
  std::set<int64_t> unlabelled_seen, labelled_seen;
  for (int64_t b = 0; b < 10; ++b) {
    const auto batch = plan.batch(0, b, b);
    const auto labels = batch.labels;
    ASSERT_EQ(batch.index.numel(), 96 + 4);  // 96 * 40 / 960 = 4 labelled per step
    EXPECT_EQ((labels >= 0).sum().item<int64_t>(), 4);
    EXPECT_NEAR(batch.weights.sum().item<double>(), 1.0, 1e-12);
    EXPECT_NEAR(batch.weights[0].item<double>(), 960.0 / (1000.0 * 96), 1e-15);
    EXPECT_NEAR(batch.weights[99].item<double>(), 40.0 / (1000.0 * 4), 1e-15);
    EXPECT_TRUE(labels.equal(train.labels.index_select(0, batch.index)));
    for (int64_t i = 0; i < batch.index.numel(); ++i)
      (labels[i].item<int64_t>() >= 0 ? labelled_seen : unlabelled_seen).insert(batch.index[i].item<int64_t>());
  }
  EXPECT_EQ(unlabelled_seen.size(), 960u);  // every unlabelled example once an epoch
  EXPECT_EQ(labelled_seen.size(), 40u);     // 10 steps of 4: one pass through the labelled ones
  // A function of (epoch, batch, step): asked again, the same rows.
  EXPECT_TRUE(plan.batch(0, 3, 3).index.equal(BatchPlan(train, true, options).batch(0, 3, 3).index));
  options.labelled_batch_size = 7;
  EXPECT_EQ(BatchPlan(train, true, options).batch(0, 0, 0).index.numel(), 96 + 7);
  // Without labels for the objective, or with none hidden: plain batches.
  EXPECT_FALSE(BatchPlan(train, false, options).mixes_labelled());
  EXPECT_FALSE(BatchPlan(train, false, options).batch(0, 0, 0).weights.defined());
  ImageSet all_known{train.x, {}, "known", torch::arange(1000, torch::kLong) % 3};
  EXPECT_FALSE(BatchPlan(all_known, true, options).mixes_labelled());
  EXPECT_EQ(BatchPlan(all_known, true, options).steps_per_epoch(), 11);
}

// The seed's sum over y as an objective: differentiable, but it never reads q(y | x).
const RegisterEstimator unreaching({"test_w_only", "class_sum: its gradient never reaches q(y | x)",
                                    EstimateKind::kUnbiased, true,
                                    [](LatentVariableModel& m, const torch::Tensor& x, const EstimatorOptions& o,
                                       const torch::Tensor& mask) { return estimate("class_sum", m, x, o, mask); }});

M2 small_m2(uint64_t seed) {
  seed_everything(seed);
  M2Options options;
  options.latent_dim = 4;
  options.hidden = {32};
  return M2(options, DataShape{784, {28, 28}});
}

TrainValidation few_labels(int64_t n, int64_t per_class) {
  DataOptions data;
  data.limit = n;
  TrainValidation split = split_validation(load_images(data, Split::kTrain), n / 5, 0);
  split.train = keep_labels_per_class(split.train, per_class, 0);
  return split;
}

TEST(SemiSupervisedTraining, ResumeEqualsAnUninterruptedRunAndValidationReportsAccuracy) {
  auto data = few_labels(1000, 3);  // 800 training examples, 30 labelled
  TrainerOptions options = test::quiet_trainer(2, 50);
  options.seed = 5;
  auto fit = [&](M2& model, const std::string& dir, bool resume, int64_t stop) {
    TrainerOptions o = options;
    o.stop_after_steps = stop;
    Trainer trainer(model.ptr(), test::objective_named("class_elbo"), o);
    RunCheckpoints checkpoints(dir, resume);
    trainer.add_callback(&checkpoints);
    return trainer.fit(data.train, data.validation);
  };
  const auto straight_dir = test::make_temp_dir("m2-straight");
  M2 straight = small_m2(1);
  fit(straight, straight_dir, false, 0);
  const auto resumed_dir = test::make_temp_dir("m2-resumed");
  M2 first = small_m2(1);
  ASSERT_TRUE(fit(first, resumed_dir, false, 23).interrupted);  // in the second epoch (16 steps each)
  M2 second = small_m2(77);
  EXPECT_FALSE(fit(second, resumed_dir, true, 0).interrupted);
  auto b = second->named_parameters();
  for (const auto& item : straight->named_parameters())
    EXPECT_TRUE(torch::equal(item.value(), b[item.key()])) << item.key();
  const auto metrics = test::lines_of(straight_dir + "/metrics.jsonl");
  ASSERT_EQ(metrics.size(), 2u);
  EXPECT_NE(metrics[1].find("\"val_class_elbo_k1\""), std::string::npos) << metrics[1];
  EXPECT_NE(metrics[1].find("\"val_accuracy\""), std::string::npos) << metrics[1];
}

TEST(SemiSupervisedTraining, AnObjectiveThatDrawsTheClassIsRefusedNamingWhatItMisses) {
  auto data = few_labels(300, 2);
  M2 model = small_m2(2);
  Trainer trainer(model.ptr(), test::objective_named("elbo"), test::quiet_trainer(1, 50));
  const auto message = test::error_message_of([&] { trainer.fit(data.train, data.validation); });
  EXPECT_NE(message.find("train.objective = elbo draws z from the proposal by the reparameterization trick"),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("use train.objective = class_elbo"), std::string::npos) << message;
  // A fit whose objective leaves parameters without a gradient is refused by
  // name too: an estimator that ignores the classifier.
  Trainer partial(model.ptr(), test::objective_named("test_w_only"), test::quiet_trainer(1, 50));
  const auto unreached = test::error_message_of([&] { partial.fit(data.train, data.validation); });
  EXPECT_NE(unreached.find("gives no gradient to"), std::string::npos) << unreached;
  EXPECT_NE(unreached.find("classifier."), std::string::npos) << unreached;
}

}  // namespace
}  // namespace dgm
