// Python state dicts (tests/fixtures, made by make_python_fixtures.py with
// Debian's python3-torch) into the native VAE: the mapping by order with the
// two encoder heads stacked reproduces the Python model's outputs; every
// mismatch, an OrderedDict and a damaged file give their messages.

#include <gtest/gtest.h>
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "core/torch_state_dict.h"
#include "models/foreign_weights.h"
#include "models/vae.h"
#include "test_support.h"

namespace dgm {
namespace {

const std::string kFixtures = std::string(DGM_SOURCE_DIR) + "/tests/fixtures/";

std::map<std::string, torch::Tensor> probe() {
  std::map<std::string, torch::Tensor> out;
  for (auto& [name, tensor] : read_torch_state_dict(kFixtures + "python_vae_probe.pt")) out[name] = tensor;
  return out;
}

TEST(StateDict, PythonVaeExampleLoadsAndGivesPythonsOutputs) {
  Vae vae = test::VaeSpec(784, 4).hidden({16}).build();
  const auto lines = load_foreign_weights(*vae, kFixtures + "python_vae.pt");
  ASSERT_EQ(lines.size(), 8u);
  EXPECT_EQ(lines[2], "encoder.layers.1.weight [8, 16] <- fc21.weight + fc22.weight");
  EXPECT_EQ(lines[3], "encoder.layers.1.bias [8] <- fc21.bias + fc22.bias");
  auto p = probe();
  torch::NoGradGuard no_grad;
  auto q = vae->encode(p["x"]);
  EXPECT_TRUE(torch::allclose(q.loc(), p["mu"], 1e-5, 1e-6));
  EXPECT_TRUE(torch::allclose(2 * q.scale().log(), p["logvar"], 1e-5, 1e-5));
  EXPECT_TRUE(torch::allclose(vae->decode(p["z"]), p["logits"], 1e-5, 1e-5));
}

TEST(StateDict, OrderedDictSaysHowToResave) {
  const auto message = test::error_message_of([] { read_torch_state_dict(kFixtures + "python_vae_ordered.pt"); });
  EXPECT_NE(message.find("holds an OrderedDict"), std::string::npos) << message;
  EXPECT_NE(message.find("torch.save(dict(model.state_dict()), PATH)"), std::string::npos) << message;
}

TEST(StateDict, OtherArchitectureNamesBothTensorsAndShapes) {
  Vae wider = test::VaeSpec(784, 4).hidden({32}).build();
  auto message = test::error_message_of([&] { load_foreign_weights(*wider, kFixtures + "python_vae.pt"); });
  EXPECT_NE(message.find("the model's 'encoder.layers.0.weight' is [32, 784]"), std::string::npos) << message;
  EXPECT_NE(message.find("'fc1.weight', is [16, 784]"), std::string::npos) << message;
  // A Gaussian decoder with a learned variance has one tensor more than the file.
  Vae gaussian = test::VaeSpec(784, 4).hidden({16}).likelihood("gaussian").build();
  message = test::error_message_of([&] { load_foreign_weights(*gaussian, kFixtures + "python_vae.pt"); });
  EXPECT_NE(message.find("nothing is left for the model's 'log_variance' [784]"), std::string::npos) << message;
  // A deeper Python model has tensors the native one lacks.
  Vae smaller = test::VaeSpec(784, 4).hidden({16}).build();
  NamedTensors extra = read_torch_state_dict(kFixtures + "python_vae.pt");
  extra.emplace_back("fc5.weight", torch::zeros({3, 3}));
  message = test::error_message_of([&] { map_foreign_state(*smaller, extra, {}, "extra.pt"); });
  EXPECT_NE(message.find("a tensor the model lacks: 'fc5.weight' [3, 3]"), std::string::npos) << message;
}

TEST(StateDict, RenamesAndExactNamesTakePrecedenceOverOrder) {
  Vae vae = test::VaeSpec(784, 4).hidden({16}).build();
  NamedTensors named;
  for (auto& [name, tensor] : read_torch_state_dict(kFixtures + "python_vae.pt")) named.emplace_back(name, tensor);
  // Stack the heads by hand and rename everything: names decide, in any order.
  NamedTensors by_name = {{"d1.bias", named[9].second},
                          {"d1.weight", named[8].second},
                          {"e0.weight", named[0].second},
                          {"e0.bias", named[1].second},
                          {"e1.weight", torch::cat({named[2].second, named[4].second})},
                          {"e1.bias", torch::cat({named[3].second, named[5].second})},
                          {"d0.weight", named[6].second},
                          {"d0.bias", named[7].second}};
  auto mapped = map_foreign_state(*vae, by_name, {"e=encoder.layers.", "d=decoder.layers."}, "renamed.pt");
  EXPECT_FALSE(mapped.by_order);
  EXPECT_TRUE(torch::equal(mapped.state.at("decoder.layers.1.weight"), named[8].second));
  auto message = test::error_message_of([&] { map_foreign_state(*vae, by_name, {"=oops"}, "renamed.pt"); });
  EXPECT_NE(message.find("--rename =oops: write OLD=NEW"), std::string::npos) << message;
}

TEST(StateDict, DamagedOrForeignFilesAreClearErrors) {
  const auto dir = test::make_temp_dir("state-dict");
  std::ifstream in(kFixtures + "python_vae.pt", std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::ofstream(dir + "/truncated.pt", std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  auto message = test::error_message_of([&] { read_torch_state_dict(dir + "/truncated.pt"); });
  EXPECT_NE(message.find(dir + "/truncated.pt"), std::string::npos) << message;
  std::ofstream(dir + "/text.pt") << "not a torch file\n";
  message = test::error_message_of([&] { read_torch_state_dict(dir + "/text.pt"); });
  EXPECT_NE(message.find("is not a torch.save file"), std::string::npos) << message;
  // A training checkpoint rather than a state dict.
  message = test::error_message_of([&] { read_torch_state_dict(kFixtures + "python_checkpoint.pt"); });
  EXPECT_NE(message.find("'epoch' is a Int, not a tensor"), std::string::npos) << message;
}

}  // namespace
}  // namespace dgm
