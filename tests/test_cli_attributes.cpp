// Latents that name attributes through the program: dgm train of an M2 run
// with few labels, then dgm attributes, edit, traverse, interpolate and probe
// on it (and traverse, interpolate and probe on a VAE run; an M2 trained
// without labels, scored by its clusters), with the errors a
// user meets: no class latent, a class out of range, labels missing or more
// classes in the labels than the model has.

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "core/csv.h"
#include "core/png_grid.h"
#include "test_support.h"

namespace dgm {
namespace {

using test::run_dgm;

using test::json_of;

using test::kConfigs;

class CliAttributes : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(test::make_temp_dir("cli-attributes"));
    auto m2 = run_dgm("train --quiet --config " + kConfigs +
                      "m2_short.yaml --set data.limit=3000 --set data.val_size=500 --set train.epochs=1 "
                      "--set model.hidden=[64] --set model.latent_dim=6 --out " +
                      m2_run());
    ASSERT_EQ(m2.exit_code, 0) << m2.output;
    auto vae = run_dgm("train --quiet --config " + kConfigs +
                       "vae.yaml --set data.limit=2000 --set data.val_size=500 --set train.epochs=1 "
                       "--set model.hidden=[64] --set model.latent_dim=5 --out " +
                       vae_run());
    ASSERT_EQ(vae.exit_code, 0) << vae.output;
  }
  static void TearDownTestSuite() { delete dir_; }
  static std::string m2_run() { return *dir_ + "/m2"; }
  static std::string vae_run() { return *dir_ + "/vae"; }
  static std::string out(const std::string& name) { return *dir_ + "/" + name; }

 private:
  static std::string* dir_;
};
std::string* CliAttributes::dir_ = nullptr;

TEST_F(CliAttributes, TrainingWithFewLabelsSaysSoAndReportsTheClassifiersAccuracy) {
  std::ifstream metrics(m2_run() + "/metrics.jsonl");
  std::string line;
  std::getline(metrics, line);
  auto epoch = nlohmann::json::parse(line);
  EXPECT_TRUE(epoch.contains("val_class_elbo_k1")) << line;
  ASSERT_TRUE(epoch.contains("val_accuracy")) << line;
  EXPECT_GE(epoch.at("val_accuracy").get<double>(), 0.0);  // a share of the 500 validation examples
  EXPECT_LE(epoch.at("val_accuracy").get<double>(), 1.0);
  EXPECT_TRUE(std::filesystem::exists(m2_run() + "/reconstructions.png"));
}

TEST_F(CliAttributes, AttributesGivesBothPosteriorsTheirAccuracyAndTheConfusionMatrix) {
  auto result = run_dgm("attributes --run " + m2_run() + " --limit 200 --k 20 --json --out " + out("confusion.png"));
  ASSERT_EQ(result.exit_code, 0) << result.output;
  auto json = json_of(result);
  EXPECT_EQ(json.at("n").get<int64_t>(), 200);
  EXPECT_EQ(json.at("labelled").get<int64_t>(), 200);
  for (const char* key : {"accuracy_sum", "accuracy_amortised", "cluster_accuracy_sum", "mean_abs_difference"})
    ASSERT_TRUE(json.at(key).is_number()) << key;
  EXPECT_GE(json.at("cluster_accuracy_sum").get<double>(), json.at("accuracy_sum").get<double>() - 1e-12);
  int64_t total = 0;
  for (const auto& row : json.at("confusion"))
    for (const auto& count : row) total += count.get<int64_t>();
  EXPECT_EQ(total, 200);
  EXPECT_GT(read_png(out("confusion.png")).size(0), 100);
  // A half-hidden image is classified too, and the text form prints the matrix.
  auto masked = run_dgm("attributes --run " + m2_run() + " --limit 50 --k 10 --mask top-half");
  ASSERT_EQ(masked.exit_code, 0) << masked.output;
  EXPECT_NE(masked.output.find("mask top-half"), std::string::npos) << masked.output;
  EXPECT_NE(masked.output.find("confusion"), std::string::npos) << masked.output;
}

TEST_F(CliAttributes, EditRendersEachExampleInEveryClassAndNamesABadClass) {
  auto result = run_dgm("edit --run " + m2_run() + " --index 3 --index 5 --out " + out("edit.png"));
  ASSERT_EQ(result.exit_code, 0) << result.output;
  auto png = read_png(out("edit.png"));
  // 2 rows of 12 pictures (example, reconstruction, 10 classes) of 28 pixels and 2-pixel borders.
  EXPECT_EQ(png.size(0), 2 + 2 * 30);
  EXPECT_EQ(png.size(1), 2 + 12 * 30);
  auto one = run_dgm("edit --run " + m2_run() + " --index 3 --to-class 7 --out " + out("edit7.png"));
  ASSERT_EQ(one.exit_code, 0) << one.output;
  EXPECT_EQ(read_png(out("edit7.png")).size(1), 2 + 3 * 30);
  auto bad = run_dgm("edit --run " + m2_run() + " --index 3 --to-class 10 --out " + out("bad.png"));
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.output.find("--to-class 10: the model has 10 classes, 0 .. 9"), std::string::npos) << bad.output;
  auto far = run_dgm("edit --run " + m2_run() + " --index 20000 --out " + out("bad.png"));
  EXPECT_NE(far.output.find("--index 20000: there is no such example"), std::string::npos) << far.output;
  auto vae = run_dgm("edit --run " + vae_run() + " --out " + out("bad.png"));
  EXPECT_EQ(vae.exit_code, 1);
  EXPECT_NE(vae.output.find("has none"), std::string::npos) << vae.output;
  EXPECT_FALSE(std::filesystem::exists(out("bad.png")));
}

TEST_F(CliAttributes, TraverseAndInterpolateWalkAVaeAndAnM2) {
  auto vae = run_dgm("traverse --run " + vae_run() + " --steps 5 --out " + out("traverse-vae.png"));
  ASSERT_EQ(vae.exit_code, 0) << vae.output;
  EXPECT_EQ(read_png(out("traverse-vae.png")).size(0), 2 + 5 * 30);  // 5 latent dimensions, one row each
  auto m2 = run_dgm("traverse --run " + m2_run() + " --dims 0,1 --steps 4 --index 2 --out " + out("traverse-m2.png"));
  ASSERT_EQ(m2.exit_code, 0) << m2.output;
  EXPECT_EQ(read_png(out("traverse-m2.png")).size(0), 2 + 12 * 30);  // 2 dimensions, then 10 classes
  auto bad = run_dgm("traverse --run " + vae_run() + " --dims 5 --out " + out("bad.png"));
  EXPECT_NE(bad.output.find("--dims 5: the model has 5 continuous latent dimensions"), std::string::npos) << bad.output;
  auto line = run_dgm("interpolate --run " + vae_run() + " --from 0 --to 1 --steps 6 --out " + out("line.png"));
  ASSERT_EQ(line.exit_code, 0) << line.output;
  EXPECT_EQ(read_png(out("line.png")).size(1), 2 + 8 * 30);
  auto circle = run_dgm("interpolate --run " + m2_run() + " --from 0 --to 1 --spherical --out " + out("circle.png"));
  ASSERT_EQ(circle.exit_code, 0) << circle.output;
  EXPECT_NE(circle.output.find("great circle"), std::string::npos) << circle.output;
}

TEST_F(CliAttributes, ProbeComparesTheCodesWithTheLabelsAlone) {
  auto vae = run_dgm("probe --run " + vae_run() + " --labels-per-class 5 --limit 500 --mlp-steps 200 --json");
  ASSERT_EQ(vae.exit_code, 0) << vae.output;
  auto json = json_of(vae);
  EXPECT_EQ(json.at("labelled").get<int64_t>(), 50);
  EXPECT_EQ(json.at("features").get<int64_t>(), 5);
  for (const char* key : {"probe_accuracy", "pixels_logistic_accuracy", "pixels_mlp_accuracy"}) {
    EXPECT_GT(json.at(key).get<double>(), 0.3) << key;  // far above chance (0.1) with 50 labels
    EXPECT_LE(json.at(key).get<double>(), 1.0) << key;
  }
  auto m2 = run_dgm("probe --run " + m2_run() + " --limit 300 --no-baselines --json");
  ASSERT_EQ(m2.exit_code, 0) << m2.output;
  auto m2_json = json_of(m2);
  EXPECT_EQ(m2_json.at("labels_per_class").get<int64_t>(), 10);  // the run's data.labels_per_class
  EXPECT_EQ(m2_json.at("features").get<int64_t>(), 16);          // q(y|x) for 10 classes and w of 6
  EXPECT_TRUE(m2_json.contains("model_q_accuracy"));
  EXPECT_FALSE(m2_json.contains("pixels_mlp_accuracy"));
}

TEST_F(CliAttributes, BdmcOfAnM2SumsTheClassesForwardAndHoldsTheTrueClassInReverse) {
  auto bdmc = run_dgm("bdmc --run " + m2_run() + " --n 4 --ais-steps 30 --chains 4 --leapfrog 3 --json");
  ASSERT_EQ(bdmc.exit_code, 0) << bdmc.output;
  auto json = json_of(bdmc);
  const double lower = json.at("lower").get<double>(), upper = json.at("upper").get<double>();
  EXPECT_TRUE(std::isfinite(lower) && std::isfinite(upper)) << json.dump();
  EXPECT_NEAR(json.at("gap").get<double>(), upper - lower, 1e-9);
  EXPECT_LT(lower, 0.0);  // log p(x) of 784 Bernoulli pixels
  EXPECT_GT(json.at("reverse_acceptance").get<double>(), 0.0);
}

TEST(CliAttributesUnsupervised, AnM2TrainedWithoutLabelsIsScoredByItsClustersTheSameWayByBothCommands) {
  const auto dir = test::make_temp_dir("cli-attributes-unsupervised");
  auto train = run_dgm("train --quiet --config " + kConfigs +
                       "m2_short.yaml --set data.limit=1500 --set data.val_size=300 --set train.epochs=1 "
                       "--set data.labels_per_class=0 --set model.hidden=[32] --set model.latent_dim=4 --out " +
                       dir + "/run");
  ASSERT_EQ(train.exit_code, 0) << train.output;
  EXPECT_NE(train.output.find("(0 labelled)"), std::string::npos) << train.output;
  auto probe = run_dgm("probe --run " + dir + "/run --limit 400 --no-baselines --json");
  ASSERT_EQ(probe.exit_code, 0) << probe.output;
  auto probe_json = json_of(probe);
  EXPECT_FALSE(probe_json.contains("model_q_accuracy"));  // its class numbers mean nothing by themselves
  auto attributes = run_dgm("attributes --run " + dir + "/run --limit 400 --k 2 --json");
  ASSERT_EQ(attributes.exit_code, 0) << attributes.output;
  auto attributes_json = json_of(attributes);
  // The best naming of the clusters is at least as good as taking their numbers as classes.
  EXPECT_GE(attributes_json.at("cluster_accuracy_amortised").get<double>(),
            attributes_json.at("accuracy_amortised").get<double>());
  // The same clusters of the same 400 examples, by q(y|x) in two commands.
  EXPECT_DOUBLE_EQ(probe_json.at("model_q_cluster_accuracy").get<double>(),
                   attributes_json.at("cluster_accuracy_amortised").get<double>());
}

TEST(CliAttributesErrors, LabelsMissingOrBeyondTheModelsClassesAreNamed) {
  const auto dir = test::make_temp_dir("cli-attributes-errors");
  write_csv(dir + "/points.csv", torch::rand({50, 4}, torch::kFloat64));
  auto missing = run_dgm("train --quiet --config " + kConfigs + "m2_short.yaml --set data.path=" + dir +
                         "/points.csv --set data.val_size=10 --set model.likelihood=gaussian --set data.binarize=none "
                         "--out " +
                         dir + "/run");
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.output.find("needs labels, but " + dir + "/points.csv has none"), std::string::npos)
      << missing.output;
  auto few_classes = run_dgm("train --quiet --config " + kConfigs +
                             "m2_short.yaml --set model.classes=5 --set data.limit=500 "
                             "--set data.val_size=100 --set data.labels_per_class=2 --out " +
                             dir + "/run5");
  EXPECT_EQ(few_classes.exit_code, 1);
  EXPECT_NE(few_classes.output.find("model.classes = 5: set model.classes=10"), std::string::npos)
      << few_classes.output;
}

}  // namespace
}  // namespace dgm
