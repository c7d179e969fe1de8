// Every built-in model type through the program: dgm train fits pPCA in closed
// form and a sigmoid belief net by exact likelihood from their configs, and
// eval, estimate, sample and export work on the runs as on a VAE's; dgm config
// lists every type's keys; the estimators dgm estimate offers are the registry's.

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>

#include "core/npy.h"
#include "test_support.h"

namespace dgm {
namespace {

using test::run_dgm;

using test::json_of;

using test::kConfigs;

TEST(CliModels, PpcaRunIsFittedInClosedFormAndEstimatedAgainstItsExactValue) {
  const auto run = test::make_temp_dir("cli-ppca") + "/run";
  auto train = run_dgm("train --quiet --config " + kConfigs +
                       "ppca.yaml --set data.limit=2000 --set data.val_size=200 " + "--out " + run);
  ASSERT_EQ(train.exit_code, 0) << train.output;
  EXPECT_NE(train.output.find("best validation"), std::string::npos) << train.output;
  auto estimate = run_dgm("estimate --run " + run + " --n 20 --k 1,100 --repeats 2 --proposal posterior --json");
  ASSERT_EQ(estimate.exit_code, 0) << estimate.output;
  auto json = json_of(estimate);
  ASSERT_FALSE(json.at("exact").is_null());
  // The exact posterior as proposal: importance sampling is exact from one sample.
  EXPECT_NEAR(json.at("estimators").at("is").at("1").at("bias").get<double>(), 0.0, 1e-6);
  auto eval = run_dgm("eval --run " + run + " --k 10 --limit 30 --json");
  ASSERT_EQ(eval.exit_code, 0) << eval.output;
  EXPECT_NEAR(json_of(eval).at("iwae").get<double>(), json.at("exact").get<double>(), 30.0);
  auto sample = run_dgm("sample --run " + run + " --n 4 --out " + run + "/s.png");
  EXPECT_EQ(sample.exit_code, 0) << sample.output;
}

TEST(CliModels, SigmoidBeliefNetRunTrainsByExactLikelihood) {
  const auto run = test::make_temp_dir("cli-sbn") + "/run";
  auto train = run_dgm("train --quiet --config " + kConfigs +
                       "sbn.yaml --set data.limit=1500 --set data.val_size=300 --set train.epochs=2 "
                       "--set model.latent_dim=6 --out " +
                       run);
  ASSERT_EQ(train.exit_code, 0) << train.output;
  std::ifstream metrics(run + "/metrics.jsonl");
  std::string line;
  std::getline(metrics, line);
  auto first = nlohmann::json::parse(line);
  EXPECT_TRUE(first.contains("val_exact")) << line;
  EXPECT_TRUE(first.contains("val_elbo")) << line;
  EXPECT_GE(first.at("val_exact").get<double>(), first.at("val_elbo").get<double>());
  auto estimate = run_dgm("estimate --run " + run + " --n 20 --k 10 --repeats 1 --estimators is,exact --json");
  ASSERT_EQ(estimate.exit_code, 0) << estimate.output;
  auto json = json_of(estimate);
  EXPECT_LT(std::abs(json.at("estimators").at("is").at("10").at("bias").get<double>()), 1.0);
  auto exported = run_dgm("export --run " + run + " --out " + run + "/w.safetensors");
  EXPECT_EQ(exported.exit_code, 0) << exported.output;
}

TEST(CliModels, ConfigListsEveryTypesKeysAndEstimateTheRegisteredEstimators) {
  auto keys = run_dgm("config --keys");
  ASSERT_EQ(keys.exit_code, 0) << keys.output;
  for (const char* key : {"model.hidden (vae)", "model.latent_dim (ppca)", "model.enumeration_chunk (sbn)",
                          "train.objective", "eval.k", "data.binarize"})
    EXPECT_NE(keys.output.find(key), std::string::npos) << key;
  auto sbn = run_dgm("config --plain --set model.type=sbn");
  ASSERT_EQ(sbn.exit_code, 0) << sbn.output;
  EXPECT_NE(sbn.output.find("enumeration_chunk: 1024"), std::string::npos) << sbn.output;
  EXPECT_EQ(sbn.output.find("hidden"), std::string::npos) << sbn.output;
  auto help = run_dgm("estimate --help");
  EXPECT_NE(help.output.find("naive, is, iwae, elbo, exact"), std::string::npos) << help.output;
  auto commented = run_dgm("config");
  EXPECT_NE(commented.output.find("# Adam's learning rate"), std::string::npos) << commented.output;
}

}  // namespace
}  // namespace dgm
