// dgm estimate and dgm inpaint end to end, through the built program.

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>

#include "core/npy.h"
#include "core/png_grid.h"
#include "test_support.h"

namespace dgm {
namespace {

using test::run_dgm;

using test::json_of;

TEST(CliEstimate, PpcaEstimatorsAgainstTheExactValue) {
  auto result = run_dgm(
      "estimate --model ppca --latent-dim 4 --fit-n 500 --n 10 --k 1,100 --repeats 2 "
      "--proposal widened:1.2 --json");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  auto json = json_of(result);
  ASSERT_FALSE(json.at("exact").is_null());
  const auto& estimators = json.at("estimators");
  EXPECT_LT(std::abs(estimators.at("is").at("100").at("bias").get<double>()), 0.5) << estimators.dump();
  EXPECT_LT(std::abs(estimators.at("iwae").at("100").at("bias").get<double>()), 0.5);
  EXPECT_LT(estimators.at("naive").at("100").at("bias").get<double>(), -10.0);  // naive MC is far off
  EXPECT_GT(estimators.at("is").at("100").at("mean_ess").get<double>(), 10.0);
}

TEST(CliEstimate, MaskedPpcaWithTheExactPosteriorIsExactFromOneSample) {
  auto result = run_dgm(
      "estimate --model ppca --latent-dim 4 --fit-n 500 --n 10 --k 1 --repeats 2 "
      "--estimators is,exact --proposal posterior --mask top-half --json");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  auto json = json_of(result);
  EXPECT_NEAR(json.at("estimators").at("is").at("1").at("bias").get<double>(), 0.0, 1e-6);
  EXPECT_EQ(json.at("mask").get<std::string>(), "top-half");
}

TEST(CliEstimate, SigmoidBeliefNetWithPlot) {
  const auto dir = test::make_temp_dir("sbn-plot");
  auto result = run_dgm(
      "estimate --model sbn --latent-dim 6 --fit-n 300 --epochs 1 --n 10 --k 1,50 --repeats 2 "
      "--json --plot " +
      dir + "/plot.png");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  auto json = json_of(result);
  EXPECT_FALSE(json.at("exact").is_null());
  EXPECT_LT(std::abs(json.at("estimators").at("is").at("50").at("bias").get<double>()), 1.0);
  auto pixels = read_png(dir + "/plot.png");
  EXPECT_EQ(pixels.size(0), 560);
  EXPECT_EQ(pixels.size(1), 1400);
}

TEST(CliEstimate, BadInputIsNamed) {
  auto check = [](const std::string& arguments, const std::string& expected) {
    auto result = run_dgm("estimate " + arguments);
    EXPECT_EQ(result.exit_code, 1) << arguments << "\n" << result.output;
    EXPECT_NE(result.output.find(expected), std::string::npos) << arguments << "\n" << result.output;
  };
  check("--model ppca --k 0", "k = 0");
  check("--model ppca --k 5,x", "'x' is not an integer");
  check("--model ppca --mask left-half", "unknown mask 'left-half'");
  check("--model ppca --mask random:1.5", "random:P");
  check("--model ppca --proposal widened:abc", "widened:F");
  check("--model ppca --estimators naive,magic", "unknown estimator 'magic'");
  check("--model sbn --latent-dim 30 --fit-n 100 --epochs 1 --estimators exact", "2^30");
  EXPECT_EQ(run_dgm("estimate --model pca").exit_code, 2);
}

TEST(CliSubject, EveryCommandNamesAMissingModelSourceWithExitTwo) {
  for (const char* command : {"eval", "estimate --n 5", "inpaint --out x.png", "sample --out x.png"}) {
    auto result = run_dgm(command);
    EXPECT_EQ(result.exit_code, 2) << command << "\n" << result.output;
    EXPECT_NE(result.output.find("give the model: --run DIR, --encoder ENC.pt --decoder DEC.pt --data PATH, or "
                                 "--model TYPE"),
              std::string::npos)
        << command << "\n"
        << result.output;
    EXPECT_NE(result.output.find("Usage: dgm "), std::string::npos) << command << "\n" << result.output;
  }
  // Two sources at once are a usage error too.
  EXPECT_EQ(run_dgm("estimate --run r --encoder e.pt --decoder d.pt").exit_code, 2);
  auto both = run_dgm("eval --run r --model ppca");
  EXPECT_EQ(both.exit_code, 2) << both.output;
}

TEST(CliEstimate, VaeRunEstimateAndInpaint) {
  const auto dir = test::make_temp_dir("vae-estimate");
  const std::string run = dir + "/run";
  auto train = run_dgm("train --quiet --config " + std::string(DGM_SOURCE_DIR) +
                       "/configs/vae.yaml --set data.limit=1200 --set data.val_size=200 --set train.epochs=2 "
                       "--set model.hidden=[64] --set model.latent_dim=4 --out " +
                       run);
  ASSERT_EQ(train.exit_code, 0) << train.output;
  auto estimate =
      run_dgm("estimate --run " + run + " --n 20 --k 10 --repeats 2 --estimators naive,is,iwae,elbo --json");
  ASSERT_EQ(estimate.exit_code, 0) << estimate.output;
  auto json = json_of(estimate);
  EXPECT_TRUE(json.at("exact").is_null());
  const auto& e = json.at("estimators");
  EXPECT_GT(e.at("is").at("10").at("mean").get<double>(), e.at("naive").at("10").at("mean").get<double>());
  EXPECT_GT(e.at("iwae").at("10").at("mean").get<double>(), e.at("elbo").at("10").at("mean").get<double>());
  auto posterior = run_dgm("estimate --run " + run + " --n 5 --k 10 --estimators is --proposal posterior");
  EXPECT_EQ(posterior.exit_code, 1);
  EXPECT_NE(posterior.output.find("no exact posterior"), std::string::npos) << posterior.output;

  auto inpaint = run_dgm("inpaint --run " + run + " --mask bottom-half --n 3 --k 50 --completions 4 --out " + dir +
                         "/inpaint.png");
  ASSERT_EQ(inpaint.exit_code, 0) << inpaint.output;
  EXPECT_NE(inpaint.output.find("IWAE-50 bound"), std::string::npos) << inpaint.output;
  EXPECT_EQ(read_png(dir + "/inpaint.png").sizes(), (std::vector<int64_t>{3 * 30 + 2, 6 * 30 + 2, 1}));
  EXPECT_EQ(run_dgm("inpaint --run " + run + " --mask none --out " + dir + "/x.png").exit_code, 1);

  auto mixture = run_dgm("sample --run " + run + " --n 9 --latent-sampler gmm:3 --out " + dir + "/gmm.png");
  ASSERT_EQ(mixture.exit_code, 0) << mixture.output;
  EXPECT_NE(mixture.output.find("3-component mixture"), std::string::npos) << mixture.output;
  EXPECT_EQ(read_png(dir + "/gmm.png").sizes(), (std::vector<int64_t>{3 * 30 + 2, 3 * 30 + 2, 1}));
  auto bad = run_dgm("sample --run " + run + " --latent-sampler gmm:0 --out " + dir + "/bad.png");
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.output.find("gmm:K"), std::string::npos) << bad.output;
}

TEST(CliSubject, TheSameOptionsBehaveTheSameInEveryCommand) {
  const auto dir = test::make_temp_dir("subject");
  const auto run = dir + "/run";
  auto train = run_dgm("train --quiet --config " + std::string(DGM_SOURCE_DIR) +
                       "/configs/vae.yaml --set data.limit=600 --set data.val_size=100 --set train.epochs=1 "
                       "--set model.hidden=[16] --set model.latent_dim=3 --out " +
                       run);
  ASSERT_EQ(train.exit_code, 0) << train.output;
  // Data outside [0, 1] for a Bernoulli model: named, whichever command reads it.
  write_npy(dir + "/bright.npy", torch::full({10, 784}, 2.0));
  for (const std::string& command :
       std::vector<std::string>{"eval --k 5", "estimate --k 5 --repeats 1", "inpaint --k 5 --out " + dir + "/i.png"}) {
    auto result = run_dgm(command + " --run " + run + " --data " + dir + "/bright.npy");
    EXPECT_EQ(result.exit_code, 1) << command << "\n" << result.output;
    EXPECT_NE(result.output.find("needs data in [0, 1]"), std::string::npos) << command << "\n" << result.output;
  }
  // --limit (or --n) is honoured by each.
  write_npy(dir + "/x.npy", test::binary_fashion_mnist(40, Split::kTest));
  auto eval = run_dgm("eval --run " + run + " --data " + dir + "/x.npy --limit 7 --k 3 --json");
  ASSERT_EQ(eval.exit_code, 0) << eval.output;
  EXPECT_EQ(json_of(eval).at("n").get<int>(), 7);
  auto estimate = run_dgm("estimate --run " + run + " --data " + dir + "/x.npy --limit 9 --k 3 --repeats 1 --json");
  ASSERT_EQ(estimate.exit_code, 0) << estimate.output;
  EXPECT_EQ(json_of(estimate).at("n").get<int>(), 9);
  // --split and --binarize in estimate as in eval: the same examples, the same figures.
  auto a = run_dgm("eval --run " + run + " --split train --limit 20 --k 4 --binarize fixed --json");
  auto b = run_dgm("estimate --run " + run +
                   " --split train --n 20 --k 4 --repeats 1 --estimators elbo --binarize "
                   "fixed --json");
  ASSERT_EQ(a.exit_code, 0) << a.output;
  ASSERT_EQ(b.exit_code, 0) << b.output;
  EXPECT_EQ(json_of(a).at("n").get<int>(), json_of(b).at("n").get<int>());
}

}  // namespace
}  // namespace dgm
