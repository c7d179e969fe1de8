// Options declared once (core/options.h): enums with names, tables that
// check a struct filled in by hand, and the command-line options derived
// from them.

#include <gtest/gtest.h>

#include <algorithm>

#include "core/dataset.h"
#include "core/error.h"
#include "core/options.h"
#include "estimators/evaluation.h"
#include "models/vae.h"
#include "test_support.h"
#include "trainers/config.h"
#include "trainers/gmm_em.h"

namespace dgm {
namespace {

std::string option_error_of(const std::string& text) {
  return test::error_message_of([&] { parse_config(text, "exp.yaml"); });
}

TEST(Options, ChoicesAreEnumsListedOnce) {
  EXPECT_EQ(enum_names<Binarization>(), (std::vector<std::string>{"dynamic", "fixed", "none"}));
  EXPECT_EQ(parse_enum<Likelihood>("gaussian"), Likelihood::kGaussian);
  EXPECT_EQ(to_string(Activation::kLeakyRelu), "leaky_relu");
  const auto message = test::error_message_of([] { parse_enum<Network>("rnn"); });
  EXPECT_NE(message.find("unknown network 'rnn': use mlp or conv"), std::string::npos) << message;
  // The objective's valid values are the registry's differentiable estimators.
  const auto objectives = training_objective_names();
  EXPECT_NE(std::find(objectives.begin(), objectives.end(), "iwae"), objectives.end());
  EXPECT_EQ(std::find(objectives.begin(), objectives.end(), "naive"), objectives.end());
  EXPECT_NE(option_error_of("train:\n  objective: naive\n").find("use one of"), std::string::npos);
}

TEST(Options, AStructFilledInCodeIsCheckedAgainstItsTable) {
  TrainerOptions options;
  options.lr = -1;
  const auto message = test::error_message_of([&] { check_options(options, "TrainerOptions"); });
  EXPECT_NE(message.find("TrainerOptions: lr = -1 is out of range: it must be > 0"), std::string::npos) << message;
  EvalOptions eval;
  eval.k = 0;
  EXPECT_NE(test::error_message_of([&] { check_options(eval, "EvalOptions"); }).find("k = 0"), std::string::npos);
  // Every table lists each member once, with a description.
  for (const auto& info : option_table<VaeOptions>().info()) EXPECT_FALSE(info.description.empty()) << info.name;
  EXPECT_EQ(option_table<EmOptions>().find("reseed_collapsed")->info.default_value, "false");
}

TEST(Options, ReadFromCommandLineTextWithTheSameChecksAsAConfig) {
  EmOptions options;
  const auto& table = option_table<EmOptions>();
  read_field_text(*table.find("covariance"), options, "diag", {"--covariance", "covariance"});
  EXPECT_EQ(options.covariance, CovarianceType::kDiag);
  read_field_text(*table.find("tol"), options, "1e-5", {"--tol", "tol"});
  EXPECT_DOUBLE_EQ(options.tol, 1e-5);
  const auto message = test::error_message_of([&] {
    read_field_text(*table.find("n_init"), options, "0", {"--n-init", "n_init"});
  });
  EXPECT_NE(message.find("--n-init: n_init = 0 is out of range: it must be at least 1"), std::string::npos) << message;
  EXPECT_EQ(option_flag("reg_covar"), "--reg-covar");
  // A list option reads YAML; a text option keeps its text as it is.
  VaeOptions vae;
  read_field_text(*option_table<VaeOptions>().find("hidden"), vae, "[300, 100]", {"--hidden", "hidden"});
  EXPECT_EQ(vae.hidden, (std::vector<int64_t>{300, 100}));
  DataOptions data;
  read_field_text(*option_table<DataOptions>().find("path"), data, "a: b.npy", {"--path", "path"});
  EXPECT_EQ(data.path, "a: b.npy");
}

TEST(Options, AnyOptionsCopiesDeeplyAndListsItsFields) {
  VaeOptions vae;
  vae.latent_dim = 7;
  AnyOptions a = AnyOptions::of(vae);
  AnyOptions b = a;
  b.as<VaeOptions>().latent_dim = 9;
  EXPECT_EQ(a.as<VaeOptions>().latent_dim, 7);
  EXPECT_TRUE(b.read_text("likelihood", "gaussian", {"x", "model.likelihood"}));
  EXPECT_EQ(b.as<VaeOptions>().likelihood, Likelihood::kGaussian);
  EXPECT_FALSE(b.read_text("no_such_option", "1", {"x", "model.no_such_option"}));
  EXPECT_EQ(a.info().size(), option_table<VaeOptions>().fields().size());
  EXPECT_THROW(a.as<EmOptions>(), std::logic_error);
}

}  // namespace
}  // namespace dgm
