// AIS and BDMC end to end, through the built program: dgm estimate
// --estimators ais, dgm eval --ais T, dgm bdmc, and their errors.

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "test_support.h"

namespace dgm {
namespace {

using test::json_of;
using test::run_dgm;

TEST(CliAis, PpcaFromItsExactPosteriorIsExactAndBdmcClosesOnIt) {
  // pPCA's encoder is its exact posterior: every AIS weight is p(x), so the
  // estimate is exact at any T and BDMC's bounds meet at the exact value.
  auto result = run_dgm(
      "estimate --model ppca --latent-dim 3 --fit-n 500 --n 4 --k 10 --repeats 1 --estimators ais,is "
      "--ais-steps 20 --chains 4 --leapfrog 3 --json");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  auto json = json_of(result);
  const auto& ais = json.at("estimators").at("ais").at("4");  // keyed by its chains
  EXPECT_LT(std::abs(ais.at("bias").get<double>()), 1e-3) << ais.dump();
  EXPECT_EQ(ais.at("acceptance_by_beta_band").size(), 10u);
  EXPECT_GT(ais.at("acceptance").get<double>(), 0.3);
  EXPECT_EQ(ais.at("ais_init").get<std::string>(), "encoder");
  EXPECT_GT(ais.at("seconds_per_repeat").get<double>(), 0.0);

  auto bdmc = run_dgm(
      "bdmc --model ppca --latent-dim 3 --fit-n 500 --n 4 --ais-steps 20 --chains 4 --leapfrog 3 --json "
      "--per-example");
  ASSERT_EQ(bdmc.exit_code, 0) << bdmc.output;
  auto b = json_of(bdmc);
  EXPECT_NEAR(b.at("lower").get<double>(), b.at("exact").get<double>(), 1e-3) << b.dump();
  EXPECT_NEAR(b.at("upper").get<double>(), b.at("exact").get<double>(), 1e-3) << b.dump();
  EXPECT_EQ(b.at("lower_per_example").size(), 4u);
}

TEST(CliAis, EvalAddsAnAisColumnToARun) {
  const auto dir = test::make_temp_dir("ais-eval");
  const std::string run = dir + "/run";
  auto train = run_dgm("train --quiet --config " + std::string(DGM_SOURCE_DIR) +
                       "/configs/vae.yaml --set data.limit=1000 --set data.val_size=200 --set train.epochs=1 "
                       "--set model.hidden=[32] --set model.latent_dim=3 --out " +
                       run);
  ASSERT_EQ(train.exit_code, 0) << train.output;
  auto eval = run_dgm("eval --run " + run + " --limit 10 --k 100 --ais 50 --chains 4 --leapfrog 4 --json");
  ASSERT_EQ(eval.exit_code, 0) << eval.output;
  auto json = json_of(eval);
  ASSERT_FALSE(json.at("ais").is_null()) << json.dump();
  // AIS and IWAE-100 estimate the same log p(x); on a 3-D latent both are close to it.
  EXPECT_NEAR(json.at("ais").get<double>(), json.at("iwae").get<double>(), 1.5) << json.dump();
  EXPECT_GT(json.at("ais").get<double>(), json.at("elbo").get<double>());
  EXPECT_EQ(json.at("ais_steps").get<int64_t>(), 50);
  auto text = run_dgm("eval --run " + run + " --limit 5 --k 10 --ais 5 --chains 2");
  ASSERT_EQ(text.exit_code, 0) << text.output;
  EXPECT_NE(text.output.find("AIS-5"), std::string::npos) << text.output;

  auto bdmc = run_dgm("bdmc --run " + run + " --n 3 --ais-steps 20 --chains 2 --leapfrog 3");
  ASSERT_EQ(bdmc.exit_code, 0) << bdmc.output;
  EXPECT_NE(bdmc.output.find("gap"), std::string::npos) << bdmc.output;
}

TEST(CliAis, BadInputIsNamed) {
  auto check = [](const std::string& arguments, const std::string& expected, int code = 1) {
    auto result = run_dgm(arguments);
    EXPECT_EQ(result.exit_code, code) << arguments << "\n" << result.output;
    EXPECT_NE(result.output.find(expected), std::string::npos) << arguments << "\n" << result.output;
  };
  check("estimate --model sbn --latent-dim 4 --fit-n 100 --epochs 1 --n 2 --estimators ais", "ais does not apply");
  check("bdmc --model sbn --latent-dim 4 --fit-n 100 --epochs 1 --n 2", "continuous latent");
  check("estimate --model ppca --n 2 --estimators ais --ais-init middle", "middle", 2);
  check("estimate --model ppca --n 2 --estimators ais --ais-steps 0", "--ais-steps", 2);
  check("eval --model ppca --n 2 --ais -1", "--ais", 2);
}

}  // namespace
}  // namespace dgm
