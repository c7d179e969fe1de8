// YAML config: defaults, overrides, and the promised error messages.

#include <gtest/gtest.h>

#include <cmath>

#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "core/utf8.h"
#include "models/ppca.h"
#include "models/sigmoid_belief_net.h"
#include "models/vae.h"
#include "test_support.h"
#include "trainers/config.h"
#include "trainers/gmm_em.h"

namespace dgm {
namespace {

std::string config_error_of(const std::string& text, const std::vector<std::string>& overrides = {}) {
  try {
    parse_config(text, "exp.yaml", overrides);
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(Config, EmptyTextGivesTheDocumentedDefaults) {
  const Config config = parse_config("", "empty.yaml");
  EXPECT_EQ(config.data.path, kFashionMnistDir);
  EXPECT_EQ(config.data.binarize, Binarization::kDynamic);
  EXPECT_EQ(config.model.type, "vae");
  EXPECT_EQ(config.model.options.as<VaeOptions>().latent_dim, 20);
  EXPECT_EQ(config.model.options.as<VaeOptions>().hidden, std::vector<int64_t>{400});
  EXPECT_EQ(config.train.trainer.batch_size, 128);
  EXPECT_DOUBLE_EQ(config.train.trainer.lr, 1e-3);
  EXPECT_EQ(config.train.objective.objective, "elbo");
  EXPECT_EQ(config.eval.k, 5000);
}

TEST(Config, ReadsEveryGroup) {
  const Config config = parse_config(R"(
data: {path: /data/mnist, binarize: fixed, val_size: 100}
model: {latent_dim: 50, hidden: [200, 200], activation: tanh}
train: {epochs: 3, lr: 3.0e-4, seed: 7, objective: iwae, k: 5}
eval: {k: 100, split: train}
)",
                                     "exp.yaml");
  EXPECT_EQ(config.data.path, "/data/mnist");
  EXPECT_EQ(config.data.binarize, Binarization::kFixed);
  EXPECT_EQ(config.model.options.as<VaeOptions>().hidden, (std::vector<int64_t>{200, 200}));
  EXPECT_EQ(config.model.options.as<VaeOptions>().activation, Activation::kTanh);
  EXPECT_DOUBLE_EQ(config.train.trainer.lr, 3e-4);
  EXPECT_EQ(config.train.trainer.seed, 7u);
  EXPECT_EQ(config.train.objective.objective, "iwae");
  EXPECT_EQ(config.train.objective.k, 5);
  EXPECT_EQ(config.eval.split, Split::kTrain);
}

TEST(Config, UnknownKeyNamesFileLineKeyAndSuggestion) {
  const auto message = config_error_of("model:\n  latent_dim: 8\ntrain:\n  epoch: 3\n");
  EXPECT_NE(message.find("exp.yaml:4"), std::string::npos) << message;
  EXPECT_NE(message.find("'train.epoch'"), std::string::npos) << message;
  EXPECT_NE(message.find("did you mean 'train.epochs'"), std::string::npos) << message;
}

TEST(Config, UnknownSectionSuggestsTheNearestOne) {
  const auto message = config_error_of("trian:\n  epochs: 3\n");
  EXPECT_NE(message.find("exp.yaml:1"), std::string::npos) << message;
  EXPECT_NE(message.find("did you mean 'train'"), std::string::npos) << message;
}

TEST(Config, WrongTypeNamesKeyLineAndValue) {
  const auto message = config_error_of("train:\n  lr: fast\n");
  EXPECT_NE(message.find("exp.yaml:2"), std::string::npos) << message;
  EXPECT_NE(message.find("train.lr must be a number"), std::string::npos) << message;
  EXPECT_NE(message.find("'fast'"), std::string::npos) << message;
  EXPECT_NE(config_error_of("model:\n  hidden: 400\n").find("list of integers"), std::string::npos);
  EXPECT_NE(config_error_of("model:\n  latent_dim: 2.5\n").find("must be an integer"), std::string::npos);
}

TEST(Config, OutOfRangeAndInvalidChoiceAreErrors) {
  EXPECT_NE(config_error_of("train:\n  lr: -1\n").find("out of range"), std::string::npos);
  EXPECT_NE(config_error_of("train:\n  batch_size: 0\n").find("out of range"), std::string::npos);
  const auto message = config_error_of("data:\n  binarize: sometimes\n");
  EXPECT_NE(message.find("use one of dynamic, fixed, none"), std::string::npos) << message;
}

TEST(Config, InvalidYamlNamesTheLine) {
  const auto message = config_error_of("train:\n  epochs: [1, 2\n  lr: 3\n");
  EXPECT_NE(message.find("exp.yaml:"), std::string::npos) << message;
  EXPECT_NE(message.find("not valid YAML"), std::string::npos) << message;
}

TEST(Config, ARepeatedKeyNamesBothLines) {
  // Issue 13: yaml-cpp let the last of two equal keys win silently.
  const auto message = config_error_of("train:\n  epochs: 3\n  lr: 0.1\n  epochs: 5\n");
  EXPECT_NE(message.find("exp.yaml:4: key 'epochs' appears twice in one mapping (first at line 2)"), std::string::npos)
      << message;
  const auto sections = config_error_of("train:\n  epochs: 3\ntrain:\n  lr: 0.1\n");
  EXPECT_NE(sections.find("key 'train' appears twice"), std::string::npos) << sections;
}

TEST(Config, SetOverridesAnyKeyIncludingLists) {
  const Config config = parse_config("model:\n  latent_dim: 8\n", "exp.yaml",
                                     {"model.latent_dim=32", "model.hidden=[512, 256]", "eval.k=10"});
  EXPECT_EQ(config.model.options.as<VaeOptions>().latent_dim, 32);
  EXPECT_EQ(config.model.options.as<VaeOptions>().hidden, (std::vector<int64_t>{512, 256}));
  EXPECT_EQ(config.eval.k, 10);
}

TEST(Config, BadSetNamesTheOverride) {
  auto message = config_error_of("", {"model.latent=3"});
  EXPECT_NE(message.find("--set model.latent=3"), std::string::npos) << message;
  EXPECT_NE(message.find("did you mean 'model.latent_dim'"), std::string::npos) << message;
  message = config_error_of("", {"train.epochs=many"});
  EXPECT_NE(message.find("--set train.epochs=many"), std::string::npos) << message;
  EXPECT_NE(config_error_of("", {"train.epochs"}).find("KEY=VALUE"), std::string::npos);
}

TEST(Config, YamlRoundTripGivesTheSameConfig) {
  const Config config = parse_config(
      "", "defaults",
      {"model.hidden=[300,100]", "train.lr=0.000123", "data.path=/some where/x.npy", "model.variance=0.25"});
  const Config again = parse_config(config_to_yaml(config), "round-trip");
  EXPECT_EQ(config_to_yaml(again), config_to_yaml(config));
  EXPECT_EQ(again.model.options.as<VaeOptions>().hidden, config.model.options.as<VaeOptions>().hidden);
  EXPECT_EQ(again.train.trainer.lr, 0.000123);
  // With the comments that describe each key, the same config comes back too.
  EXPECT_EQ(config_to_yaml(parse_config(config_to_yaml(config, true), "commented")), config_to_yaml(config));
  EXPECT_EQ(again.data.path, "/some where/x.npy");
}

TEST(Config, AFileNameThatIsNotUtf8RoundTripsByteForByte) {
  // Issue 13: a data path with non-UTF-8 bytes was stored mangled (U+FFFD)
  // in config.yaml, and the run could not be resumed.
  const std::string path = "/data/caf\xe9/\xff\xfe.npy";  // Latin-1 bytes, as old file systems hold them
  EXPECT_FALSE(is_utf8(path));
  const Config config = parse_config("", "test", {"data.path=" + path});
  EXPECT_EQ(config.data.path, path);
  const std::string yaml = config_to_yaml(config, true);
  EXPECT_NE(yaml.find("path: !!binary "), std::string::npos) << yaml;
  EXPECT_NE(config_to_yaml(config).find("path: !!binary "), std::string::npos);
  EXPECT_EQ(parse_config(yaml, "config.yaml").data.path, path);
  // UTF-8 names stay readable text.
  const std::string accented = "/data/caf\xc3\xa9.npy";
  EXPECT_TRUE(is_utf8(accented));
  const std::string plain = config_to_yaml(parse_config("", "test", {"data.path=" + accented}));
  EXPECT_NE(plain.find("\"" + accented + "\""), std::string::npos) << plain;
  EXPECT_EQ(parse_config(plain, "config.yaml").data.path, accented);
  const auto bad = config_error_of("data:\n  path: !!binary \"not base64 at all!\"\n");
  EXPECT_NE(bad.find("data.path is tagged !!binary"), std::string::npos) << bad;
}

TEST(Utf8, OverlongSurrogateAndCutSequencesAreNotUtf8) {
  EXPECT_TRUE(is_utf8(""));
  EXPECT_TRUE(is_utf8("\xf0\x9f\x98\x80"));  // U+1F600
  for (const char* bad : {"\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xe2\x82", "\x80", "\xf8\x88\x80\x80\x80"})
    EXPECT_FALSE(is_utf8(bad)) << bad;
}

TEST(Config, MissingFileIsAClearError) {
  try {
    load_config("/nonexistent/exp.yaml");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/exp.yaml"), std::string::npos);
  }
}

TEST(Config, ShippedConfigsLoad) {
  for (const auto& entry : std::filesystem::directory_iterator(std::string(DGM_SOURCE_DIR) + "/configs")) {
    EXPECT_NO_THROW(load_config(entry.path().string())) << entry.path();
  }
}

TEST(NearestKey, FindsTyposAndIgnoresFarOffNames) {
  const auto keys = config_keys();
  EXPECT_EQ(nearest_key("train.bach_size", keys), "train.batch_size");
  EXPECT_EQ(nearest_key("latent_dim", keys), "model.latent_dim");
  EXPECT_EQ(nearest_key("completely.unrelated.thing", keys), "");
}

TEST(Config, ScheduleAndGradientKeysAreCheckedTogether) {
  const Config paper = load_config(std::string(DGM_SOURCE_DIR) + "/configs/iwae_paper_2layer.yaml");
  EXPECT_EQ(paper.train.trainer.lr_milestones, (std::vector<int64_t>{1, 4, 13, 40, 121, 364, 1093}));
  EXPECT_NEAR(std::pow(paper.train.trainer.lr_gamma, 7), 0.1, 1e-12);
  EXPECT_EQ(paper.train.trainer.adam_eps, 1e-4);
  EXPECT_EQ(paper.model.options.as<VaeOptions>().second_latent_dim, 50);
  auto message = config_error_of("train:\n  lr_milestones: [5, 3]\n");
  EXPECT_NE(message.find("train.lr_milestones must increase, got 3 after 5"), std::string::npos) << message;
  message = config_error_of("train:\n  gradient: dreg\n");
  EXPECT_NE(message.find("set train.objective=iwae"), std::string::npos) << message;
  message = config_error_of("train:\n  gradient: reinforce\n");
  EXPECT_NE(message.find("use one of standard, dreg"), std::string::npos) << message;
}

TEST(Config, ModelKeysAreThoseOfTheModelType) {
  const Config sbn = parse_config("model:\n  type: sbn\n  latent_dim: 6\n", "exp.yaml");
  EXPECT_EQ(sbn.model.type, "sbn");
  EXPECT_EQ(sbn.model.options.as<SigmoidBeliefNetOptions>().latent_dim, 6);
  // Each family has its own defaults.
  EXPECT_EQ(parse_config("model: {type: ppca}", "x").model.options.as<PpcaOptions>().latent_dim, 8);
  auto message = config_error_of("model:\n  type: sbn\n  hidden: [400]\n");
  EXPECT_NE(message.find("exp.yaml:3"), std::string::npos) << message;
  EXPECT_NE(message.find("unknown key 'model.hidden'"), std::string::npos) << message;
  EXPECT_NE(message.find("model.type sbn takes latent_dim, enumeration_chunk"), std::string::npos) << message;
  message = config_error_of("model:\n  type: transformer\n");
  EXPECT_NE(message.find("exp.yaml:2"), std::string::npos) << message;
  EXPECT_NE(message.find("use one of vae, ppca, sbn, m2"), std::string::npos) << message;
  // model.type given by --set decides which keys the file may hold.
  EXPECT_NO_THROW(parse_config("model:\n  latent_dim: 3\n", "x", {"model.type=ppca"}));
}

TEST(Config, KeysThatAreNotNamesAreErrorsAtTheirLine) {
  // Found by fuzz_config: an empty key (`? :`) reached yaml-cpp's "bad
  // conversion" exception, which no caller caught.
  auto message = config_error_of("model:\n  ? : vae\n");
  EXPECT_NE(message.find("exp.yaml:2: a key must be a plain name"), std::string::npos) << message;
  message = config_error_of("train:\n  ? [lr, k]\n  : 3\n");
  EXPECT_NE(message.find("exp.yaml:2: a key must be a plain name, not a list"), std::string::npos) << message;
  message = config_error_of("? {a: 1}\n: 2\n");
  EXPECT_NE(message.find("a key must be a plain name, not a mapping"), std::string::npos) << message;
}

}  // namespace
}  // namespace dgm
