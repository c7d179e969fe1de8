// Python state dicts (tests/fixtures, made by make_python_fixtures.py with
// Debian's python3-torch) into the native VAE: the mapping by order with the
// two encoder heads stacked reproduces the Python model's outputs; every
// mismatch and a damaged file give their messages; an OrderedDict and a
// checkpoint dict (by --key) load; crafted archives are clear errors.

#include <caffe2/serialize/inline_container.h>
#include <gtest/gtest.h>
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>

#include "core/error.h"
#include "core/torch_state_dict.h"
#include "models/foreign_weights.h"
#include "models/module_state.h"
#include "models/vae.h"
#include "pickle_bytes.h"
#include "test_support.h"

namespace dgm {
namespace {

using test::kFixtures;

std::map<std::string, torch::Tensor> probe() {
  std::map<std::string, torch::Tensor> out;
  for (auto& [name, tensor] : read_torch_state_dict(kFixtures + "python_vae_probe.pt")) out[name] = tensor;
  return out;
}

TEST(StateDict, PythonVaeExampleLoadsAndGivesPythonsOutputs) {
  Vae vae = test::VaeSpec(784, 4).hidden({16}).build();
  const auto loaded = load_foreign_weights(*vae, kFixtures + "python_vae.pt");
  EXPECT_TRUE(loaded.warnings.empty());
  const auto& lines = loaded.lines;
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

TEST(StateDict, AnOrderedDictLoadsAsThePlainDictDoes) {
  // torch.save(model.state_dict()) as it is: LibTorch 1.13's unpickler could
  // not read it; dgm's own reader does.
  const auto ordered = read_torch_state_dict(kFixtures + "python_vae_ordered.pt");
  const auto plain = read_torch_state_dict(kFixtures + "python_vae.pt");
  ASSERT_EQ(ordered.size(), plain.size());
  for (std::size_t i = 0; i < plain.size(); ++i) {
    EXPECT_EQ(ordered[i].first, plain[i].first);
    EXPECT_TRUE(torch::equal(ordered[i].second, plain[i].second)) << plain[i].first;
  }
  Vae vae = test::VaeSpec(784, 4).hidden({16}).build();
  EXPECT_EQ(load_foreign_weights(*vae, kFixtures + "python_vae_ordered.pt").lines.size(), 8u);
}

TEST(StateDict, ACheckpointLoadsUnderItsKeyWithEveryDtypeAndStorageLayout) {
  // make_pickle_fixtures.py: {"epoch", "model_state_dict", "optimizer_state_dict"}.
  const auto message = test::error_message_of([] { read_torch_state_dict(kFixtures + "python_mixed.pt"); });
  EXPECT_NE(message.find("'epoch' is a int, not a tensor"), std::string::npos) << message;
  EXPECT_NE(message.find("--key"), std::string::npos) << message;
  EXPECT_NE(message.find("model_state_dict (dict)"), std::string::npos) << message;
  const auto missing =
      test::error_message_of([] { read_torch_state_dict(kFixtures + "python_mixed.pt", "state_dict"); });
  EXPECT_NE(missing.find("has no entry 'state_dict' (--key)"), std::string::npos) << missing;
  std::map<std::string, torch::Tensor> t;
  for (auto& [name, tensor] : read_torch_state_dict(kFixtures + "python_mixed.pt", "model_state_dict"))
    t[name] = tensor;
  ASSERT_EQ(t.size(), 10u);
  EXPECT_EQ(t["half"].scalar_type(), torch::kFloat16);
  EXPECT_TRUE(torch::equal(t["half"].to(torch::kFloat32), torch::arange(6, torch::kFloat32)));
  EXPECT_EQ(t["bfloat"].scalar_type(), torch::kBFloat16);
  EXPECT_TRUE(torch::equal(t["bfloat"].to(torch::kFloat32), torch::arange(6, torch::kFloat32)));
  EXPECT_TRUE(torch::equal(t["long"], torch::arange(5, torch::kInt64) - 2));
  EXPECT_TRUE(torch::equal(t["int"], torch::arange(5, torch::kInt32) * 3));
  EXPECT_TRUE(torch::equal(t["byte"], torch::arange(4, torch::kInt32).to(torch::kUInt8) + 250));
  EXPECT_TRUE(torch::equal(t["flag"], torch::tensor({true, false, true})));
  const auto base = torch::arange(12, torch::kFloat32).reshape({3, 4});
  EXPECT_TRUE(torch::equal(t["shared_a"], base));
  EXPECT_TRUE(torch::equal(t["shared_b"], base[1]));  // an offset view of the same storage
  EXPECT_TRUE(torch::equal(t["transposed"], base.t()));
  EXPECT_TRUE(t["transposed"].is_contiguous());
  EXPECT_TRUE(torch::equal(t["parameter"], torch::arange(3, torch::kFloat64)));
}

/// A torch.save-style archive (LibTorch's own writer) with `pickle` as its
/// data.pkl and `storage` as data/0.
std::string crafted_archive(const std::string& dir, const std::string& name, const std::string& pickle,
                            const std::string& storage) {
  const std::string path = dir + "/" + name + ".pt";
  caffe2::serialize::PyTorchStreamWriter writer(path);
  writer.writeRecord("data.pkl", pickle.data(), pickle.size());
  writer.writeRecord("data/0", storage.data(), storage.size());
  writer.writeEndOfFile();
  return path;
}

using test::pickle::int2;
using test::pickle::op;
using test::pickle::text;

/// {'w': tensor of `size` (1-d) with `stride` over a float storage of `numel`}.
std::string one_tensor_pickle(int numel, int size, int stride) {
  return "\x80\x02}(" + text("w") + "ctorch._utils\n_rebuild_tensor_v2\n((" + text("storage") +
         "ctorch\nFloatStorage\n" + text("0") + text("cpu") + int2(numel) + "tQ" + int2(0) + "(" + int2(size) + "t(" +
         int2(stride) + "t" + op(0x89) + "ccollections\nOrderedDict\n)RtRu.";
}

TEST(StateDict, CraftedArchivesAreClearErrorsNeverACrash) {
  const auto dir = test::make_temp_dir("state-dict-crafted");
  const std::string seven_floats(28, '\0');
  // A valid one, to show the crafting is right.
  auto good = read_torch_state_dict(crafted_archive(dir, "good", one_tensor_pickle(7, 7, 1), seven_floats));
  ASSERT_EQ(good.size(), 1u);
  EXPECT_EQ(good[0].second.numel(), 7);
  // Issue 13: a bias of 784 over 7 stored values; a stride past the storage.
  auto message = test::error_message_of(
      [&] { read_torch_state_dict(crafted_archive(dir, "bias", one_tensor_pickle(7, 784, 1), seven_floats)); });
  EXPECT_NE(message.find("reaches element 783 of a storage of 7"), std::string::npos) << message;
  message = test::error_message_of(
      [&] { read_torch_state_dict(crafted_archive(dir, "stride", one_tensor_pickle(7, 2, 1000), seven_floats)); });
  EXPECT_NE(message.find("reaches element 1000"), std::string::npos) << message;
  // A storage record shorter than its declared elements.
  message = test::error_message_of(
      [&] { read_torch_state_dict(crafted_archive(dir, "short", one_tensor_pickle(7, 7, 1), std::string(12, '\0'))); });
  EXPECT_NE(message.find("storage 0 holds 12 bytes, where its 7 elements of Float need 28"), std::string::npos)
      << message;
  // The crafted records that crashed LibTorch's unpickler: each a message.
  for (const std::string& pickle : {std::string("\x80\x02R."), std::string("\x80\x02b."), "\x80\x02" + op(0x85) + ".",
                                    std::string("\x80\x02}NNu."), std::string("\x80\x02X\xff\xff\xff\x7f.")}) {
    const auto path = crafted_archive(dir, "hostile", pickle, seven_floats);
    message = test::error_message_of([&] { read_torch_state_dict(path); });
    EXPECT_TRUE(message.find("is not a pickle dgm reads") != std::string::npos ||
                message.find("is damaged (or crafted)") != std::string::npos)
        << message;
    EXPECT_NE(message.find(path), std::string::npos) << message;
  }
  // Flipped bits in a tensor's data: the record's CRC-32 no longer matches.
  std::ifstream in(kFixtures + "python_vae.pt", std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  bytes[bytes.size() / 2] = static_cast<char>(bytes[bytes.size() / 2] ^ 0x10);
  std::ofstream(dir + "/flipped.pt", std::ios::binary) << bytes;
  message = test::error_message_of([&] { read_torch_state_dict(dir + "/flipped.pt"); });
  EXPECT_NE(message.find("does not match its CRC-32"), std::string::npos) << message;
}

TEST(StateDict, NonFiniteWeightsLoadWithAWarningNamingTheTensor) {
  // Issue 13: NaN weights were imported without a word.
  const auto dir = test::make_temp_dir("nan-weights");
  Vae source = test::VaeSpec(784, 4).hidden({16}).build();
  NamedTensors tensors = module_state(*source);
  for (auto& [name, tensor] : tensors)
    if (name == "decoder.layers.0.bias") {
      tensor = tensor.clone();
      tensor[0] = std::nan("");
      tensor[1] = std::numeric_limits<float>::infinity();
      tensor[2] = std::nan("");
    }
  write_safetensors(dir + "/nan.safetensors", tensors);
  Vae target = test::VaeSpec(784, 4).hidden({16}).build();
  const LoadedWeights loaded = load_foreign_weights(*target, dir + "/nan.safetensors");
  ASSERT_EQ(loaded.warnings.size(), 1u);
  EXPECT_NE(loaded.warnings[0].find("tensor 'decoder.layers.0.bias' [16] holds 2 NaN and 1 infinite values of 16"),
            std::string::npos)
      << loaded.warnings[0];
  EXPECT_NE(loaded.warnings[0].find(dir + "/nan.safetensors"), std::string::npos) << loaded.warnings[0];
  // Integer tensors cannot hold NaN: never a warning.
  EXPECT_TRUE(non_finite_warnings({{"steps", torch::arange(5)}}, "x").empty());
}

TEST(StateDict, ASafetensorsHeaderLengthThatOpensLikeAPickleStillLoads) {
  // A header length whose low byte is 0x80 (PROTO, the first byte of a
  // legacy torch.save pickle) was read as a legacy file, by the length of
  // the config that dgm export puts in the metadata.
  const auto dir = test::make_temp_dir("safetensors-0x80");
  Vae source = test::VaeSpec(784, 4).hidden({16}).build();
  const NamedTensors tensors = module_state(*source);
  const std::string path = dir + "/w.safetensors";
  auto first_byte = [&path] {
    std::ifstream in(path, std::ios::binary);
    return in.get();
  };
  std::string padding;
  for (int tries = 0; tries < 300 && first_byte() != 0x80; ++tries, padding += 'x')
    write_safetensors(path, tensors, {{"padding", padding}});
  ASSERT_EQ(first_byte(), 0x80) << "no padding gave a header length of low byte 0x80";
  Vae target = test::VaeSpec(784, 4).hidden({16}).build();
  load_foreign_weights(*target, path);
  for (const auto& item : source->named_parameters())
    EXPECT_TRUE(torch::equal(item.value(), target->named_parameters()[item.key()])) << item.key();
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
  EXPECT_NE(message.find("'epoch' is a int, not a tensor"), std::string::npos) << message;
}

}  // namespace
}  // namespace dgm
