// dgm end to end, through the built program: train a tiny config, eval
// --json, sample; help and usage errors.

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "core/atomic_file.h"
#include "core/npy.h"
#include "core/png_grid.h"
#include "test_support.h"

namespace dgm {
namespace {

using test::run_dgm;

const std::string kTinyConfig = std::string(DGM_SOURCE_DIR) + "/configs/vae.yaml";
const std::string kTinySets =
    " --set data.limit=1200 --set data.val_size=200 --set train.epochs=2 --set model.hidden=[64]"
    " --set model.latent_dim=4 --set train.batch_size=100";

TEST(Cli, HelpListsEveryCommandAndEveryCommandHasHelp) {
  auto result = run_dgm("--help");
  EXPECT_EQ(result.exit_code, 0);
  for (const char* command : {"train", "eval", "sample", "config", "bdmc", "plot"}) {
    EXPECT_NE(result.output.find(command), std::string::npos) << command;
    auto sub = run_dgm(std::string(command) + " --help");
    EXPECT_EQ(sub.exit_code, 0) << command;
    EXPECT_NE(sub.output.find(std::string("Usage: dgm ") + command), std::string::npos) << sub.output;
  }
  EXPECT_NE(run_dgm("eval --help").output.find("--json"), std::string::npos);
}

TEST(Cli, WrongFlagShowsTheUsageLineAndExitsWithTwo) {
  auto result = run_dgm("train --no-such-flag");
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.output.find("--no-such-flag"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("Usage: dgm train"), std::string::npos) << result.output;
  EXPECT_EQ(run_dgm("").exit_code, 2);
  EXPECT_EQ(run_dgm("eval").exit_code, 2);  // --run is required
}

TEST(Cli, NumericOptionsOutOfRangeSayWhatIsAllowed) {
  auto result = run_dgm("gmm fit --data x.csv --chunk-rows 0");
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.output.find("--chunk-rows: 0 is too small: it must be at least 1"), std::string::npos)
      << result.output;
  result = run_dgm("gmm fit --data x.csv --tol abc");
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.output.find("--tol: 'abc' is not a number"), std::string::npos) << result.output;
  result = run_dgm("estimate --model ppca --seed -1");
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.output.find("--seed: -1 is too small: it must be at least 0"), std::string::npos) << result.output;
  EXPECT_EQ(result.output.find("179769"), std::string::npos) << "CLI11's 300-digit range is back";
}

TEST(Cli, ConfigMistakesAreNamedWithExitOne) {
  auto result = run_dgm("train --config " + kTinyConfig + " --set train.epoch=2");
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.output.find("did you mean 'train.epochs'"), std::string::npos) << result.output;
  result = run_dgm("config --set model.latent_dim=-3");
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.output.find("model.latent_dim = -3 is out of range"), std::string::npos) << result.output;
}

TEST(Cli, TrainEvalSampleEndToEnd) {
  const auto dir = test::make_temp_dir("e2e");
  const auto run = dir + "/run";
  auto train = run_dgm("train --quiet --device cpu --config " + kTinyConfig + kTinySets + " --out " + run);
  ASSERT_EQ(train.exit_code, 0) << train.output;
  for (const char* file :
       {"config.yaml", "run.json", "best.pt", "last.pt", "metrics.jsonl", "samples.png", "reconstructions.png"})
    EXPECT_TRUE(std::filesystem::exists(run + "/" + file)) << file;
  EXPECT_EQ(read_png(run + "/samples.png").sizes(), (std::vector<int64_t>{8 * 30 + 2, 8 * 30 + 2, 1}));

  auto eval = run_dgm("eval --run " + run + " --k 20 --limit 150 --batch-size 64 --json");
  ASSERT_EQ(eval.exit_code, 0) << eval.output;
  auto json = nlohmann::json::parse(eval.output.substr(eval.output.find('{')));
  EXPECT_EQ(json.at("n").get<int>(), 150);
  EXPECT_EQ(json.at("k").get<int>(), 20);
  const double elbo = json.at("elbo").get<double>(), iwae = json.at("iwae").get<double>();
  EXPECT_LT(elbo, 0.0);
  EXPECT_GT(iwae, elbo);  // IWAE-20 is tighter than the ELBO on average
  EXPECT_GT(json.at("iwae_stderr").get<double>(), 0.0);
  // The same seed gives the same figures.
  auto again = run_dgm("eval --run " + run + " --k 20 --limit 150 --batch-size 64 --json");
  EXPECT_EQ(nlohmann::json::parse(again.output.substr(again.output.find('{'))).at("iwae").get<double>(), iwae);

  // --data FILE is the set to use, for eval and estimate alike.
  write_npy(dir + "/x.npy", test::binary_fashion_mnist(30, Split::kTest));
  auto on_file = run_dgm("estimate --run " + run + " --data " + dir + "/x.npy --n 10 --k 1,5 --repeats 2 --json");
  ASSERT_EQ(on_file.exit_code, 0) << on_file.output;
  EXPECT_EQ(nlohmann::json::parse(on_file.output.substr(on_file.output.find('{'))).at("n").get<int>(), 10);
  auto sample = run_dgm("sample --run " + run + " --n 10 --out " + dir + "/ten.png --seed 3");
  ASSERT_EQ(sample.exit_code, 0) << sample.output;
  EXPECT_EQ(read_png(dir + "/ten.png").sizes(), (std::vector<int64_t>{3 * 30 + 2, 4 * 30 + 2, 1}));

  // A run is never overwritten by accident, and --resume of a finished run is a no-op.
  auto again_train = run_dgm("train --quiet --config " + kTinyConfig + kTinySets + " --out " + run);
  EXPECT_EQ(again_train.exit_code, 1);
  EXPECT_NE(again_train.output.find("--resume"), std::string::npos) << again_train.output;
  auto resume = run_dgm("train --quiet --resume --out " + run);
  EXPECT_EQ(resume.exit_code, 0) << resume.output;
}

TEST(Cli, ConvolutionalVaeTrainsAndEvaluates) {
  const auto dir = test::make_temp_dir("conv");
  auto train = run_dgm("train --quiet --device cpu --config " + kTinyConfig + kTinySets +
                       " --set model.network=conv --set model.conv_channels=[8,16] --out " + dir + "/run");
  ASSERT_EQ(train.exit_code, 0) << train.output;
  std::ifstream metrics(dir + "/run/metrics.jsonl");
  std::string first, second;
  std::getline(metrics, first);
  std::getline(metrics, second);
  EXPECT_GT(nlohmann::json::parse(second).at("val_elbo").get<double>(),
            nlohmann::json::parse(first).at("val_elbo").get<double>());
  auto eval = run_dgm("eval --run " + dir + "/run --k 10 --limit 50 --json");
  ASSERT_EQ(eval.exit_code, 0) << eval.output;
  auto sample = run_dgm("sample --run " + dir + "/run --n 4 --out " + dir + "/s.png");
  EXPECT_EQ(sample.exit_code, 0) << sample.output;
}

TEST(Cli, PlotDrawsTheCurvesOfARun) {
  const auto dir = test::make_temp_dir("plot");
  const auto run = dir + "/run";
  auto train = run_dgm("train --quiet --device cpu --config " + kTinyConfig + kTinySets + " --out " + run);
  ASSERT_EQ(train.exit_code, 0) << train.output;
  auto plot = run_dgm("plot --run " + run);
  ASSERT_EQ(plot.exit_code, 0) << plot.output;
  EXPECT_NE(plot.output.find("2 epochs of " + run + " (train_loss, val_elbo) drawn to " + run + "/curves.png"),
            std::string::npos)
      << plot.output;
  EXPECT_EQ(plot.output.find("Warning"), std::string::npos) << "gnuplot had nothing to complain of: " << plot.output;
  const auto picture = read_png(run + "/curves.png");
  EXPECT_EQ(picture.size(0), 520);
  EXPECT_EQ(picture.size(1), 800);
  EXPECT_GT(picture.to(torch::kFloat32).std().item<double>(), 0.0) << "something was drawn";

  // An edited metrics.jsonl is named with its line; a directory without one says so.
  std::ofstream(run + "/metrics.jsonl", std::ios::app) << "{not json\n";
  auto edited = run_dgm("plot --run " + run + " --out " + dir + "/edited.png");
  EXPECT_EQ(edited.exit_code, 1);
  EXPECT_NE(edited.output.find(run + "/metrics.jsonl:3 is not a line of epoch metrics"), std::string::npos)
      << edited.output;
  EXPECT_FALSE(std::filesystem::exists(dir + "/edited.png"));
  auto empty = run_dgm("plot --run " + dir);
  EXPECT_EQ(empty.exit_code, 1);
  EXPECT_NE(empty.output.find("has no metrics.jsonl"), std::string::npos) << empty.output;
}

TEST(Cli, TrainsAndEvaluatesOnAnImageFolder) {
  namespace fs = std::filesystem;
  const auto dir = test::make_temp_dir("image_folder_cli");
  for (int i = 0; i < 12; ++i) {
    for (const auto& split : {"train", "test"}) {
      fs::create_directories(fmt::format("{}/{}/wide", dir, split));
      fs::create_directories(fmt::format("{}/{}/photo", dir, split));
      fs::copy_file(test::kFixtures + "image_wide.png", fmt::format("{}/{}/wide/{}.png", dir, split, i));
      fs::copy_file(test::kFixtures + "image_photo.jpg", fmt::format("{}/{}/photo/{}.jpg", dir, split, i));
    }
  }
  std::ofstream(dir + "/train/photo/broken.jpg") << "not a JPEG";
  const std::string sets = " --set data.path=" + dir +
                           " --set data.image_size=8 --set data.val_size=4 --set train.epochs=1 --set "
                           "model.likelihood=gaussian --set data.binarize=none --set model.hidden=[16]";
  auto train = run_dgm("train --quiet --device cpu --config " + kTinyConfig + sets + " --out " + dir + "/run");
  ASSERT_EQ(train.exit_code, 0) << train.output;
  EXPECT_NE(train.output.find(dir + "/train/photo/broken.jpg: not a picture"), std::string::npos) << train.output;
  EXPECT_NE(train.output.find("on 20 examples of " + dir + "/train (4 for validation)"), std::string::npos)
      << train.output;
  EXPECT_EQ(read_png(dir + "/run/samples.png").size(2), 3) << "colour pictures give a colour grid";
  auto eval = run_dgm("eval --run " + dir + "/run --k 10");
  ASSERT_EQ(eval.exit_code, 0) << eval.output;
  EXPECT_NE(eval.output.find("24 examples of " + dir + "/test"), std::string::npos) << eval.output;
  auto strict = run_dgm("train --quiet --device cpu --config " + kTinyConfig + sets + " --set data.strict=true --out " +
                        dir + "/strict");
  EXPECT_EQ(strict.exit_code, 1);
  EXPECT_NE(strict.output.find("broken.jpg: not a picture stb_image can read"), std::string::npos) << strict.output;
  EXPECT_FALSE(fs::exists(dir + "/strict/run.json"));
}

TEST(Cli, TrainWritesTensorBoardEventsOfItsMetricsAndPictures) {
  namespace fs = std::filesystem;
  const auto dir = test::make_temp_dir("tensorboard_cli");
  const auto run = dir + "/run";
  auto train = run_dgm("train --quiet --device cpu --config " + kTinyConfig + kTinySets +
                       " --set train.log_to=tensorboard --out " + run);
  ASSERT_EQ(train.exit_code, 0) << train.output;
  std::vector<std::string> files;
  for (const auto& entry : fs::directory_iterator(run))
    if (entry.path().filename().string().rfind("events.out.tfevents.", 0) == 0) files.push_back(entry.path());
  ASSERT_EQ(files.size(), 1u) << train.output;
  EXPECT_NE(train.output.find("tensorboard:          " + files[0]), std::string::npos) << train.output;
  const auto events = test::read_tensorboard_events(files[0]);
  const auto metrics = test::lines_of(run + "/metrics.jsonl");
  ASSERT_EQ(metrics.size(), 2u);
  int scalars = 0;
  for (const auto& line : metrics) {
    const auto epoch = nlohmann::json::parse(line);
    const int64_t step = epoch["step"];
    for (const auto& [tag, key] : {std::pair<std::string, std::string>{"train/loss", "train_loss"},
                                   {"validation/elbo", "val_elbo"},
                                   {"train/lr", "lr"}}) {
      bool found = false;
      for (const auto& event : events) {
        if (event.tag != tag || event.step != step) continue;
        found = true;
        EXPECT_FLOAT_EQ(event.scalar, epoch[key].get<double>()) << tag << " at step " << step;
        ++scalars;
      }
      EXPECT_TRUE(found) << tag << " at step " << step;
    }
  }
  EXPECT_EQ(scalars, 6);
  for (const auto& name : {"samples", "reconstructions"}) {
    const std::string png = read_text_file(run + "/" + name + ".png");
    const auto picture = read_png(run + "/" + name + ".png");
    bool found = false;
    for (const auto& event : events) {
      if (event.tag != name) continue;
      found = true;
      EXPECT_EQ(event.encoded_image, png) << name;
      EXPECT_EQ(event.height, picture.size(0));
      EXPECT_EQ(event.width, picture.size(1));
      EXPECT_EQ(event.colorspace, picture.size(2));
    }
    EXPECT_TRUE(found) << name;
  }
  // A resumed run writes a second file that starts by marking the restart.
  auto resumed = run_dgm("train --quiet --device cpu --resume --out " + run + " --set train.epochs=3");
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  std::vector<std::string> after;
  for (const auto& entry : fs::directory_iterator(run))
    if (entry.path().filename().string().rfind("events.out.tfevents.", 0) == 0 && entry.path() != files[0])
      after.push_back(entry.path());
  ASSERT_EQ(after.size(), 1u);
  const auto second = test::read_tensorboard_events(after[0]);
  ASSERT_GE(second.size(), 2u);
  EXPECT_EQ(second[1].session_status, 1);
  EXPECT_EQ(second[1].step, nlohmann::json::parse(metrics[1])["step"].get<int64_t>());
}

TEST(Cli, DiscretizedLogisticRunsReportBitsPerDimension) {
  namespace fs = std::filesystem;
  const auto dir = test::make_temp_dir("bits_per_dim_cli");
  for (int i = 0; i < 10; ++i)
    for (const auto& split : {"train", "test"}) {
      fs::create_directories(fmt::format("{}/{}/a", dir, split));
      fs::copy_file(test::kFixtures + "image_wide.png", fmt::format("{}/{}/a/{}.png", dir, split, i));
    }
  const std::string sets = " --set data.path=" + dir +
                           " --set data.image_size=8 --set data.val_size=2 --set train.epochs=1 --set "
                           "model.likelihood=discretized_logistic --set model.hidden=[16] --set model.latent_dim=2";
  auto binary = run_dgm("train --quiet --device cpu --config " + kTinyConfig + sets + " --out " + dir + "/binary");
  EXPECT_EQ(binary.exit_code, 1);
  EXPECT_NE(binary.output.find("not binary ones: set data.binarize=none"), std::string::npos) << binary.output;
  auto train = run_dgm("train --quiet --device cpu --config " + kTinyConfig + sets +
                       " --set data.binarize=none --out " + dir + "/run");
  ASSERT_EQ(train.exit_code, 0) << train.output;
  auto eval = run_dgm("eval --run " + dir + "/run --k 10 --json");
  ASSERT_EQ(eval.exit_code, 0) << eval.output;
  const auto json = test::json_of(eval);
  const double dims = 3 * 8 * 8;
  EXPECT_NEAR(json["iwae_bits_per_dim"].get<double>(), -json["iwae"].get<double>() / (dims * std::log(2.0)), 1e-9);
  EXPECT_NEAR(json["elbo_bits_per_dim"].get<double>(), -json["elbo"].get<double>() / (dims * std::log(2.0)), 1e-9);
  EXPECT_GT(json["iwae_bits_per_dim"].get<double>(), 0.0);  // a mass: log p(x) < 0
  auto text = run_dgm("estimate --run " + dir + "/run --k 5 --repeats 1");
  ASSERT_EQ(text.exit_code, 0) << text.output;
  EXPECT_NE(text.output.find("bits/dim"), std::string::npos) << text.output;
  // Values off the 8-bit grid are refused, naming the file.
  const auto grey = dir + "/half.npy";
  write_npy(grey, torch::full({4, 3, 8, 8}, 0.5, torch::kFloat32));
  auto off_grid = run_dgm("eval --run " + dir + "/run --k 2 --data " + grey);
  EXPECT_EQ(off_grid.exit_code, 1);
  EXPECT_NE(off_grid.output.find(grey + ": value 0 is 0.5, not one of the 256 levels"), std::string::npos)
      << off_grid.output;
}

TEST(Cli, EvalOfAMissingRunSaysSo) {
  auto result = run_dgm("eval --run /nonexistent/run");
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.output.find("/nonexistent/run"), std::string::npos) << result.output;
}

}  // namespace
}  // namespace dgm

namespace dgm {
namespace {

TEST(Cli, Float64RunTrainsAndEvaluates) {
  const auto run = test::make_temp_dir("f64") + "/run";
  auto train = run_dgm("train --quiet --config " + kTinyConfig + kTinySets +
                       " --set train.epochs=1 --set train.dtype=float64 --out " + run);
  ASSERT_EQ(train.exit_code, 0) << train.output;
  auto eval = run_dgm("eval --run " + run + " --k 5 --limit 50 --json");
  ASSERT_EQ(eval.exit_code, 0) << eval.output;
  EXPECT_LT(nlohmann::json::parse(eval.output.substr(eval.output.find('{'))).at("iwae").get<double>(), 0.0);
}

TEST(TwoLayerVae, ShortPaperConfigTrainsAndEvaluates) {
  const auto dir = test::make_temp_dir("two-layer");
  auto train = test::run_dgm("train --quiet --device cpu --config " + std::string(DGM_SOURCE_DIR) +
                             "/configs/iwae_short_2layer.yaml --set data.limit=1200 --set data.val_size=200 "
                             "--set train.epochs=2 --set train.k=5 --set train.gradient=dreg --out " +
                             dir + "/run");
  ASSERT_EQ(train.exit_code, 0) << train.output;
  auto eval = test::run_dgm("eval --run " + dir + "/run --k 50 --limit 100 --json");
  ASSERT_EQ(eval.exit_code, 0) << eval.output;
  auto json = nlohmann::json::parse(eval.output.substr(eval.output.find('{')));
  EXPECT_GT(json.at("iwae").get<double>(), json.at("elbo").get<double>());
  EXPECT_GT(json.at("iwae").get<double>(), -400.0);
  EXPECT_EQ(json.at("latent_units").get<int>(), 150);
}

}  // namespace
}  // namespace dgm
