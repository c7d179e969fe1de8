// dgm gmm end to end, and the CSV reader.

#include <gtest/gtest.h>
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>

#include "core/csv.h"
#include "core/npy.h"
#include "core/png_grid.h"
#include "core/random.h"
#include "models/gaussian_mixture.h"
#include "test_support.h"

namespace dgm {
namespace {

using test::run_dgm;

void write_file(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

/// 600 points from 3 clusters in 2-D, as NPY and CSV.
std::string write_blobs(const std::string& dir) {
  seed_everything(3);
  auto covariances = torch::tensor({0.3, 0.5, 0.2}, torch::kFloat64);
  GaussianMixture truth = GaussianMixture::from_covariances(
      torch::tensor({0.4, 0.3, 0.3}, torch::kFloat64),
      torch::tensor({{0.0, 0.0}, {8.0, 0.0}, {0.0, 8.0}}, torch::kFloat64), covariances, CovarianceType::kSpherical);
  auto x = truth.sample(600).first;
  write_npy(dir + "/blobs.npy", x);
  write_csv(dir + "/blobs.csv", x);
  return dir + "/blobs";
}

using test::json_of;

TEST(CliGmm, FitScorePredictSampleEndToEnd) {
  const auto dir = test::make_temp_dir("gmm-cli");
  const auto blobs = write_blobs(dir);
  auto fit =
      run_dgm("gmm fit --data " + blobs + ".csv --components 3 --covariance full --out " + dir + "/model --json");
  ASSERT_EQ(fit.exit_code, 0) << fit.output;
  auto json = json_of(fit);
  for (const char* key : {"mean_log_likelihood", "n_iter", "converged", "bic", "aic", "seconds", "seconds_per_iter"})
    EXPECT_TRUE(json.contains(key)) << key;
  EXPECT_TRUE(json.at("converged").get<bool>());
  for (const char* file : {"gmm.json", "gmm.pt", "weights.npy", "means.npy", "precisions_cholesky.npy"})
    EXPECT_TRUE(std::filesystem::exists(dir + "/model/" + file)) << file;

  auto score = run_dgm("gmm score --model " + dir + "/model --data " + blobs + ".npy --out " + dir + "/ll.npy");
  ASSERT_EQ(score.exit_code, 0) << score.output;
  auto ll = read_npy(dir + "/ll.npy");
  EXPECT_NEAR(ll.mean().item<double>(), json.at("mean_log_likelihood").get<double>(), 1e-9);

  auto predict = run_dgm("gmm predict --model " + dir + "/model --data " + blobs + ".npy --out " + dir + "/labels.csv");
  ASSERT_EQ(predict.exit_code, 0) << predict.output;
  auto labels = read_csv(dir + "/labels.csv");
  EXPECT_EQ(labels.size(0), 600);
  EXPECT_EQ(std::get<0>(at::_unique(labels.flatten())).numel(), 3);
  auto proba =
      run_dgm("gmm predict --proba --model " + dir + "/model --data " + blobs + ".npy --out " + dir + "/p.npy");
  ASSERT_EQ(proba.exit_code, 0) << proba.output;
  EXPECT_TRUE(torch::allclose(read_npy(dir + "/p.npy").sum(-1), torch::ones({600}, torch::kFloat64)));

  // Missing values are marginalized when scoring.
  write_file(dir + "/missing.csv", "0.1,nan\nnan,7.9\n");
  auto missing = run_dgm("gmm score --model " + dir + "/model --data " + dir + "/missing.csv");
  EXPECT_EQ(missing.exit_code, 0) << missing.output;
  EXPECT_NE(missing.output.find("marginalized"), std::string::npos) << missing.output;

  // Points with missing values are fitted too.
  auto with_missing = read_csv(blobs + ".csv");
  with_missing[0][1] = std::nan("");
  with_missing[7][0] = std::nan("");
  write_csv(dir + "/holes.csv", with_missing);
  auto holes = run_dgm("gmm fit --data " + dir + "/holes.csv -k 3 --json");
  ASSERT_EQ(holes.exit_code, 0) << holes.output;
  EXPECT_GT(json_of(holes).at("missing_fraction").get<double>(), 0.0);

  auto plot = run_dgm("gmm fit --data " + blobs + ".csv -k 3 --plot " + dir + "/gmm.png");
  ASSERT_EQ(plot.exit_code, 0) << plot.output;
  EXPECT_EQ(read_png(dir + "/gmm.png").size(1), 900);

  auto sample = run_dgm("gmm sample --model " + dir + "/model --n 50 --out " + dir + "/new.csv --seed 2");
  ASSERT_EQ(sample.exit_code, 0) << sample.output;
  EXPECT_EQ(read_csv(dir + "/new.csv").sizes(), (std::vector<int64_t>{50, 2}));
}

TEST(CliGmm, SelectsTheNumberOfComponentsByBic) {
  const auto dir = test::make_temp_dir("gmm-bic");
  const auto blobs = write_blobs(dir);
  auto fit = run_dgm("gmm fit --data " + blobs + ".npy --components 1..5 --select bic --json");
  ASSERT_EQ(fit.exit_code, 0) << fit.output;
  auto json = json_of(fit);
  EXPECT_EQ(json.at("components").get<int>(), 3);
  EXPECT_EQ(json.at("selection").size(), 5u);
}

TEST(CliGmm, BadInputIsNamed) {
  const auto dir = test::make_temp_dir("gmm-bad");
  write_file(dir + "/few.csv", "1,2\n3,4\n");
  auto result = run_dgm("gmm fit --data " + dir + "/few.csv --components 3");
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.output.find("more than the 2 data points"), std::string::npos) << result.output;
  write_file(dir + "/data.txt", "1 2\n");
  result = run_dgm("gmm fit --data " + dir + "/data.txt");
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.output.find(".npy, .npz or .csv"), std::string::npos) << result.output;
  result = run_dgm("gmm fit --data " + dir + "/few.csv --covariance banded");
  EXPECT_EQ(result.exit_code, 2);
  result = run_dgm("gmm score --model " + dir + " --data " + dir + "/few.csv");
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.output.find("no fitted mixture"), std::string::npos) << result.output;
}

}  // namespace
}  // namespace dgm
