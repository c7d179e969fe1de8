// The gradient trainer: learning, exact resume, non-finite losses, Ctrl-C.

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/random.h"
#include "estimators/elbo.h"
#include "estimators/iwae_bound.h"
#include "estimators/registry.h"
#include "models/vae.h"
#include "test_support.h"
#include "trainers/checkpoint.h"
#include "trainers/config.h"
#include "trainers/objective.h"
#include "trainers/run_directory.h"
#include "trainers/trainer.h"

namespace dgm {
namespace {

TrainValidation small_data(int64_t n) {
  DataOptions config;
  config.limit = n;
  return split_validation(load_images(config, Split::kTrain), n / 5, 0);
}

Vae small_vae(uint64_t seed) {
  seed_everything(seed);
  return test::make_vae(5, {32});
}

TrainerOptions options_for(int64_t epochs) {
  TrainerOptions options = test::quiet_trainer(epochs, 50);
  options.seed = 17;
  return options;
}

/// A fit that keeps a run directory in `dir` (continued with `resume`).
TrainResult fit_into(const std::string& dir, Vae& vae, Objective objective, const TrainerOptions& options,
                     const TrainValidation& data, bool resume = false) {
  Trainer trainer(vae.ptr(), std::move(objective), options);
  RunCheckpoints checkpoints(dir, resume);
  trainer.add_callback(&checkpoints);
  return trainer.fit(data.train, data.validation);
}

/// The ELBO, broken on purpose at its `trigger`-th training call (or
/// validation call): NaN, or SIGINT.
struct Fault {
  int64_t trigger = 0, calls = 0;
  bool interrupt = false;
  bool in_validation = false;
} g_fault;

// An estimator registered from outside the library, trained through the registry.
const RegisterEstimator faulty_elbo({"test_faulty_elbo", "the ELBO, with a fault at one training call",
                                     EstimateKind::kLowerBound, true,
                                     [](LatentVariableModel& model, const torch::Tensor& x,
                                        const EstimatorOptions& options, const torch::Tensor& mask) {
                                       Estimate out = estimate("elbo", model, x, options, mask);
                                       if (torch::GradMode::is_enabled() != g_fault.in_validation &&
                                           ++g_fault.calls == g_fault.trigger) {
                                         if (g_fault.interrupt)
                                           std::raise(SIGINT);
                                         else
                                           out.objective = out.objective * std::nan("");
                                       }
                                       return out;
                                     }});

Objective faulty(int64_t trigger, bool interrupt, bool in_validation = false) {
  g_fault = Fault{trigger, 0, interrupt, in_validation};
  return test::objective_named("test_faulty_elbo");
}

TEST(Trainer, ShortRunRaisesTheValidationElboAndWritesMetrics) {
  const auto dir = test::make_temp_dir("train");
  auto data = small_data(2000);
  Vae vae = small_vae(1);
  Trainer trainer(vae.ptr(), test::objective_named("elbo"), options_for(3));
  RunCheckpoints checkpoints(dir, false);
  trainer.add_callback(&checkpoints);
  const double before = trainer.validate_elbo(binarize_seeded(data.validation.x, 1));
  const TrainResult result = trainer.fit(data.train, data.validation);
  EXPECT_FALSE(result.interrupted);
  EXPECT_EQ(result.epochs_completed, 3);
  EXPECT_GT(result.last_validation, before + 50.0) << "before " << before << ", after " << result.last_validation;
  const auto lines = test::lines_of(dir + "/metrics.jsonl");
  ASSERT_EQ(lines.size(), 3u);
  for (const char* key : {"\"epoch\"", "\"step\"", "\"train_loss\"", "\"val_elbo\"", "\"images_per_s\"", "\"seconds\""})
    EXPECT_NE(lines[2].find(key), std::string::npos) << key;
  EXPECT_TRUE(std::filesystem::exists(best_checkpoint_path(dir)));
  EXPECT_TRUE(std::filesystem::exists(last_checkpoint_path(dir)));
}

TEST(Trainer, ResumeEqualsAnUninterruptedRun) {
  auto data = small_data(1000);  // 800 training examples: 16 steps per epoch
  const auto straight_dir = test::make_temp_dir("straight");
  Vae straight = small_vae(2);
  fit_into(straight_dir, straight, test::objective_named("elbo"), options_for(2), data);

  const auto resumed_dir = test::make_temp_dir("resumed");
  Vae first = small_vae(2);
  auto options = options_for(2);
  options.stop_after_steps = 21;  // in the middle of the second epoch
  const TrainResult cut = fit_into(resumed_dir, first, test::objective_named("elbo"), options, data);
  ASSERT_TRUE(cut.interrupted);
  EXPECT_EQ(cut.step, 21);
  {
    // As if killed after epoch 2's line was appended but before its
    // checkpoint landed, the last append torn: resume drops both lines.
    std::ofstream metrics(resumed_dir + "/metrics.jsonl", std::ios::app);
    metrics << "{\"epoch\":2,\"lr\":0.001,\"step\":32,\"train_loss\":1.0}\n{\"epoch\":3,\"st";
  }
  Vae second = small_vae(99);  // other initial weights: everything must come from the checkpoint
  options.stop_after_steps = 0;
  const TrainResult rest = fit_into(resumed_dir, second, test::objective_named("elbo"), options, data, true);
  EXPECT_FALSE(rest.interrupted);
  EXPECT_EQ(rest.step, 32);

  auto a = straight->named_parameters(), b = second->named_parameters();
  for (const auto& item : a) EXPECT_TRUE(torch::equal(item.value(), b[item.key()])) << item.key();
  const auto straight_metrics = test::lines_of(straight_dir + "/metrics.jsonl");
  const auto resumed_metrics = test::lines_of(resumed_dir + "/metrics.jsonl");
  ASSERT_EQ(straight_metrics.size(), 2u);
  ASSERT_EQ(resumed_metrics.size(), 2u);
  auto without_timing = [](const std::string& line) { return line.substr(line.find("\"step\"")); };
  // Same step, train loss and validation ELBO; only the timings differ.
  auto key_values = [&](const std::string& line) {
    auto rest = without_timing(line);
    auto seconds = rest.find(",\"seconds\"");
    return rest.substr(0, seconds) + rest.substr(rest.find(',', seconds + 1));
  };
  EXPECT_EQ(key_values(straight_metrics[1]), key_values(resumed_metrics[1]));
}

TEST(Trainer, NonFiniteLossNamesTheStepAndKeepsTheLastCheckpoint) {
  const auto dir = test::make_temp_dir("nan");
  auto data = small_data(500);  // 400 training examples: 8 steps per epoch
  Vae vae = small_vae(3);
  fit_into(dir, vae, test::objective_named("elbo"), options_for(1), data);
  const std::string before = read_text_file(last_checkpoint_path(dir));
  try {
    fit_into(dir, vae, faulty(3, false), options_for(2), data, true);
    FAIL() << "a NaN loss did not stop training";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("at step 10"), std::string::npos) << e.what();
  }
  EXPECT_EQ(read_text_file(last_checkpoint_path(dir)), before);
}

TEST(Trainer, CtrlCSavesACheckpointAndStopsCleanly) {
  install_interrupt_handler();  // as main() does
  const auto dir = test::make_temp_dir("sigint");
  auto data = small_data(500);
  Vae vae = small_vae(4);
  const TrainResult result = fit_into(dir, vae, faulty(5, true), options_for(3), data);
  EXPECT_TRUE(result.interrupted);
  EXPECT_EQ(result.step, 5);
  Vae reloaded = small_vae(5);
  EXPECT_EQ(load_checkpoint(last_checkpoint_path(dir), *reloaded).step, 5);
  for (const auto& item : vae->named_parameters())
    EXPECT_TRUE(torch::equal(item.value(), reloaded->named_parameters()[item.key()])) << item.key();
  // Past fit(), Ctrl-C ends the process at once, with its message and
  // status, removing the temporary files being written.
  const std::string temporary = dir + "/samples.png.tmp.1";
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        std::ofstream(temporary) << "half a picture";
        remember_temporary(temporary);
        std::raise(SIGINT);
      },
      testing::ExitedWithCode(130), "interrupted \\(Ctrl-C\\); files being written were removed");
  EXPECT_FALSE(std::filesystem::exists(temporary));
}

TEST(Trainer, CtrlCDuringTheLastValidationStopsWithTheEpochSaved) {
  // Issue 13: a Ctrl-C during the final validation was ignored.
  install_interrupt_handler();
  const auto dir = test::make_temp_dir("sigint-validation");
  auto data = small_data(500);  // 8 steps per epoch; one validation call per epoch
  Vae vae = small_vae(4);
  const TrainResult result = fit_into(dir, vae, faulty(2, true, true), options_for(2), data);
  EXPECT_TRUE(result.interrupted);
  EXPECT_EQ(result.step, 16);
  EXPECT_EQ(result.epochs_completed, 2);
  EXPECT_EQ(test::lines_of(dir + "/metrics.jsonl").size(), 2u);
  Vae reloaded = small_vae(5);
  EXPECT_EQ(load_checkpoint(last_checkpoint_path(dir), *reloaded).step, 16);
}

TEST(Trainer, AStopAtAnEpochsEndStillValidatesThatEpoch) {
  // A stop after an epoch's last step used to skip that epoch's validation
  // for good: the resumed run started the next epoch.
  const auto dir = test::make_temp_dir("stop-at-epoch-end");
  auto data = small_data(500);
  Vae vae = small_vae(6);
  auto options = options_for(3);
  options.stop_after_steps = 8;
  const TrainResult result = fit_into(dir, vae, test::objective_named("elbo"), options, data);
  EXPECT_TRUE(result.interrupted);
  EXPECT_EQ(result.step, 8);
  EXPECT_EQ(test::lines_of(dir + "/metrics.jsonl").size(), 1u);
}

}  // namespace
}  // namespace dgm

namespace dgm {
namespace {

TEST(Trainer, LearningRateFollowsTheMilestones) {
  TrainerOptions options;
  options.lr = 1e-3;
  options.lr_milestones = {1, 4};
  options.lr_gamma = 0.5;
  EXPECT_DOUBLE_EQ(learning_rate_at(options, 0), 1e-3);
  EXPECT_DOUBLE_EQ(learning_rate_at(options, 1), 5e-4);
  EXPECT_DOUBLE_EQ(learning_rate_at(options, 3), 5e-4);
  EXPECT_DOUBLE_EQ(learning_rate_at(options, 4), 2.5e-4);
  EXPECT_DOUBLE_EQ(learning_rate_at(options, 100), 2.5e-4);
}

}  // namespace
}  // namespace dgm
