// Weights that travel between dgm and other tools, end to end through the
// program: an exported safetensors file evaluates exactly as the run, and a
// Python state dict imported as a run evaluates as the weights do.

#include <gtest/gtest.h>
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <filesystem>

#include "core/safetensors.h"
#include "test_support.h"

namespace dgm {
namespace {

using test::kFixtures;

TEST(CliExport, ExportedWeightsEvaluateExactlyAsTheRun) {
  const auto dir = test::make_temp_dir("export");
  const std::string run = dir + "/run";
  auto train = test::run_dgm("train --quiet --config " + std::string(DGM_SOURCE_DIR) +
                             "/configs/vae.yaml --set data.limit=600 --set data.val_size=100 --set train.epochs=1 "
                             "--set model.hidden=[32] --set model.latent_dim=3 --out " +
                             run);
  ASSERT_EQ(train.exit_code, 0) << train.output;
  auto exported = test::run_dgm("export --run " + run + " --format safetensors --out " + dir + "/w.safetensors");
  ASSERT_EQ(exported.exit_code, 0) << exported.output;
  auto metadata = read_safetensors(dir + "/w.safetensors").metadata;
  EXPECT_EQ(metadata.at("format"), "dgm");
  EXPECT_NE(metadata.at("config").find("latent_dim: 3"), std::string::npos);
  auto json_of = [](const test::CommandResult& r) {
    return nlohmann::json::parse(r.output.substr(r.output.find('{')));
  };
  auto native = test::run_dgm("eval --run " + run + " --k 7 --limit 40 --json");
  auto imported = test::run_dgm("eval --run " + run + " --weights " + dir + "/w.safetensors --k 7 --limit 40 --json");
  ASSERT_EQ(imported.exit_code, 0) << imported.output;
  EXPECT_EQ(json_of(native).at("iwae").get<double>(), json_of(imported).at("iwae").get<double>());
}

TEST(StateDict, ImportMakesARunThatEvaluates) {
  const auto dir = test::make_temp_dir("import");
  const std::string config = std::string(DGM_SOURCE_DIR) + "/configs/vae.yaml";
  auto imported =
      test::run_dgm("import --config " + config + " --set model.hidden=[16] --set model.latent_dim=4 --weights " +
                    kFixtures + "python_vae.pt --out " + dir + "/run");
  ASSERT_EQ(imported.exit_code, 0) << imported.output;
  EXPECT_NE(imported.output.find("encoder.layers.1.weight [8, 16] <- fc21.weight + fc22.weight"), std::string::npos);
  auto eval = test::run_dgm("eval --run " + dir + "/run --k 20 --limit 50 --json");
  ASSERT_EQ(eval.exit_code, 0) << eval.output;
  auto json = nlohmann::json::parse(eval.output.substr(eval.output.find('{')));
  EXPECT_GT(json.at("iwae").get<double>(), json.at("elbo").get<double>());
  // The same weights straight into a run of that architecture give the same figures.
  auto again =
      test::run_dgm("eval --run " + dir + "/run --weights " + kFixtures + "python_vae.pt --k 20 --limit 50 --json");
  ASSERT_EQ(again.exit_code, 0) << again.output;
  EXPECT_EQ(nlohmann::json::parse(again.output.substr(again.output.find('{'))).at("iwae").get<double>(),
            json.at("iwae").get<double>());
  // torch.save(model.state_dict()) as it is (an OrderedDict) imports the same model.
  auto ordered =
      test::run_dgm("import --config " + config + " --set model.hidden=[16] --set model.latent_dim=4 --weights " +
                    kFixtures + "python_vae_ordered.pt --out " + dir + "/ordered");
  ASSERT_EQ(ordered.exit_code, 0) << ordered.output;
  auto ordered_eval = test::run_dgm("eval --run " + dir + "/ordered --k 20 --limit 50 --json");
  ASSERT_EQ(ordered_eval.exit_code, 0) << ordered_eval.output;
  EXPECT_EQ(nlohmann::json::parse(ordered_eval.output.substr(ordered_eval.output.find('{'))).at("iwae").get<double>(),
            json.at("iwae").get<double>());
  // A checkpoint dict: without --key its entries are listed; with it, its state dict is read.
  auto no_key = test::run_dgm("import --config " + config + " --weights " + kFixtures + "python_checkpoint.pt --out " +
                              dir + "/no-key");
  EXPECT_EQ(no_key.exit_code, 1);
  EXPECT_NE(no_key.output.find("--key"), std::string::npos) << no_key.output;
  EXPECT_NE(no_key.output.find("model (dict)"), std::string::npos) << no_key.output;
  auto keyed = test::run_dgm("import --config " + config + " --weights " + kFixtures +
                             "python_checkpoint.pt --key model --out " + dir + "/keyed");
  EXPECT_EQ(keyed.exit_code, 1);  // its two tensors are not this VAE's: named by shape
  EXPECT_NE(keyed.output.find("'w', is [2]"), std::string::npos) << keyed.output;
}

}  // namespace
}  // namespace dgm
