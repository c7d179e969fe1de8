// Run directories (trainers/run_directory.h) of any registered model type:
// run.json records the type, the loaded model is the one that was saved, a
// run written before the type was recorded is a VAE, and a directory edited
// by hand or holding an unknown type is named.

#include <gtest/gtest.h>
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <filesystem>

#include "core/atomic_file.h"
#include "core/random.h"
#include "estimators/exact_marginal.h"
#include "test_support.h"
#include "trainers/config.h"
#include "trainers/run_directory.h"
#include "trainers/trainer.h"

namespace dgm {
namespace {

/// Fits `config`'s model to the first 1,200 training images into `dir`, as dgm train does.
void train_into(const std::string& dir, Config config) {
  config.data.limit = 1200;
  config.data.val_size = 200;
  ImageSet all = load_images(config.data, Split::kTrain).to(torch::kCPU, to_dtype(config.train.runtime.dtype));
  TrainValidation data = split_validation(all, config.data.val_size, config.train.trainer.seed);
  RunTraining(dir, config, all, data, /*resume=*/false, /*progress=*/false).fit();
}

TEST(RunDirectory, HoldsAnyModelTypeAndLoadsWhatWasSaved) {
  const auto dir = test::make_temp_dir("ppca-run");
  const Config config = load_config(std::string(DGM_SOURCE_DIR) + "/configs/ppca.yaml", {"model.latent_dim=4"});
  train_into(dir, config);
  const auto run_json = nlohmann::json::parse(read_text_file(dir + "/run.json"));
  EXPECT_EQ(run_json.at("model_type").get<std::string>(), "ppca");
  EXPECT_EQ(run_json.at("format").get<int>(), 2);
  LoadedRun run = load_run(dir, torch::kCPU);
  auto* ppca = dynamic_cast<PpcaImpl*>(run.model.get());
  ASSERT_NE(ppca, nullptr);
  EXPECT_EQ(ppca->latent_dim(), 4);
  // The closed-form fit of the same examples, computed again: the same model.
  ImageSet all = load_images(config.data, Split::kTrain).first(1200).to(torch::kCPU, torch::kFloat64);
  TrainValidation data = split_validation(all, 200, config.train.trainer.seed);
  PpcaImpl again = *fit_ppca(data.train.x, 4);
  EXPECT_NEAR(ppca->noise_variance(), again.noise_variance(), 1e-12);
  auto x = data.validation.x.slice(0, 0, 20);
  EXPECT_TRUE(torch::allclose(exact_log_marginal(*run.model, x), exact_log_marginal(again, x), 1e-10, 1e-8));
  // One line of metrics: the closed-form fit's validation, exact and ELBO.
  EXPECT_TRUE(std::filesystem::exists(dir + "/metrics.jsonl"));
  const auto metrics = nlohmann::json::parse(read_text_file(dir + "/metrics.jsonl"));
  EXPECT_TRUE(metrics.contains("val_elbo"));
}

TEST(RunDirectory, ARunWithoutARecordedTypeIsAVaeAndAMismatchIsNamed) {
  const auto dir = test::make_temp_dir("old-run");
  Config config = parse_config("", "x", {"model.hidden=[16]", "model.latent_dim=3", "train.epochs=1"});
  train_into(dir, config);
  // Format 1 (before the type was recorded).
  auto run_json = nlohmann::json::parse(read_text_file(dir + "/run.json"));
  run_json.erase("model_type");
  run_json["format"] = 1;
  write_text_atomically(dir + "/run.json", run_json.dump());
  EXPECT_EQ(read_run_metadata(dir).model_type, "vae");
  EXPECT_NO_THROW(load_run(dir, torch::kCPU));
  // run.json and config.yaml disagree.
  run_json["format"] = 2;
  run_json["model_type"] = "sbn";
  write_text_atomically(dir + "/run.json", run_json.dump());
  const auto message = test::error_message_of([&] { load_run(dir, torch::kCPU); });
  EXPECT_NE(message.find("config.yaml names model.type vae but run.json sbn"), std::string::npos) << message;
  // A type this dgm does not know.
  write_text_atomically(dir + "/config.yaml", "model: {type: glow}\n");
  const auto unknown = test::error_message_of([&] { load_run(dir, torch::kCPU); });
  EXPECT_NE(unknown.find("'glow'"), std::string::npos) << unknown;
  EXPECT_NE(unknown.find("vae, ppca, sbn, m2"), std::string::npos) << unknown;
}

TEST(RunDirectory, ADataShapeThatCannotBeTheDataIsRefusedBeforeAModelIsBuilt) {
  const auto dir = test::make_temp_dir("hostile-run");
  const nlohmann::json good{{"format", 2},         {"dgm_version", "0.1.0"}, {"libtorch_version", "1.13.1"},
                            {"model_type", "vae"}, {"data_dim", 784},        {"image_shape", {1, 28, 28}}};
  write_text_atomically(dir + "/run.json", good.dump());
  EXPECT_EQ(read_run_metadata(dir).data.dim, 784);
  const std::vector<std::pair<nlohmann::json, std::string>> hostile = {
      {{{"data_dim", 0}}, "data_dim is 0, not between 1 and 2^30"},
      {{{"data_dim", int64_t{1} << 40}}, "data_dim is 1099511627776"},
      {{{"image_shape", {28, 29}}}, "image_shape 28x29 does not hold data_dim = 784 values"},
      {{{"image_shape", {784}}}, "image_shape has 1 entries"},
      {{{"image_shape", {-1, -784}}}, "has a side that is not between 1 and 2^30"},
      {{{"image_shape", {int64_t{1} << 32, int64_t{1} << 32}}}, "has a side that is not between 1 and 2^30"}};
  for (const auto& [change, expected] : hostile) {
    nlohmann::json run = good;
    run.update(change);
    write_text_atomically(dir + "/run.json", run.dump());
    const auto message = test::error_message_of([&] { read_run_metadata(dir); });
    EXPECT_NE(message.find(expected), std::string::npos) << message;
    EXPECT_NE(message.find("run.json"), std::string::npos) << message;
  }
}

TEST(RunDirectory, AConfigChangedOnResumeKeepsTheOneBefore) {
  const auto dir = test::make_temp_dir("config-history");
  const DataShape shape{784, {28, 28}};
  const Config first = parse_config("", "x", {"train.lr=0.001"});
  EXPECT_EQ(write_run_files(dir, first, shape), "");
  const std::string original = read_text_file(dir + "/config.yaml");
  // A resume without --set reads config.yaml and writes the same text back.
  EXPECT_EQ(write_run_files(dir, load_config(dir + "/config.yaml"), shape), "");
  EXPECT_FALSE(std::filesystem::exists(dir + "/config.1.yaml"));
  // --set train.lr=1e6: the new settings rule, the old ones are kept.
  const Config changed = load_config(dir + "/config.yaml", {"train.lr=1e6"});
  EXPECT_EQ(write_run_files(dir, changed, shape), dir + "/config.1.yaml");
  EXPECT_EQ(read_text_file(dir + "/config.1.yaml"), original);
  EXPECT_DOUBLE_EQ(load_config(dir + "/config.yaml").train.trainer.lr, 1e6);
  // And again: the next free number.
  EXPECT_EQ(write_run_files(dir, first, shape), dir + "/config.2.yaml");
  EXPECT_DOUBLE_EQ(load_config(dir + "/config.2.yaml").train.trainer.lr, 1e6);
}

}  // namespace
}  // namespace dgm
