// safetensors files and module states: round trips and every mismatch named.

#include <gtest/gtest.h>
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>

#include "core/atomic_file.h"
#include "core/random.h"
#include "core/safetensors.h"
#include "models/module_state.h"
#include "models/vae.h"
#include "test_support.h"

namespace dgm {
namespace {

using test::error_message_of;

void write_bytes(const std::string& path, const std::string& bytes) { std::ofstream(path, std::ios::binary) << bytes; }

/// A file laid out by hand as the format's specification shows it.
std::string hand_made(const std::string& header, const std::string& data) {
  std::string bytes(8, '\0');
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>((header.size() >> (8 * i)) & 0xFF);
  return bytes + header + data;
}

TEST(Safetensors, RoundTripsEveryDtypeAndTheMetadata) {
  const auto path = test::make_temp_dir("st") + "/t.safetensors";
  NamedTensors tensors{{"f32", torch::randn({2, 3})},
                       {"f64", torch::randn({4}, torch::kFloat64)},
                       {"i64", torch::arange(6, torch::kLong).view({3, 2})},
                       {"u8", torch::arange(5, torch::kUInt8)},
                       {"bool", torch::tensor({true, false, true})},
                       {"bf16", torch::randn({3}).to(torch::kBFloat16)},
                       {"scalar", torch::tensor(2.5)}};
  write_safetensors(path, tensors, {{"format", "test"}});
  const SafetensorsFile file = read_safetensors(path);
  ASSERT_EQ(file.tensors.size(), tensors.size());
  for (const auto& [name, tensor] : tensors) {
    const auto& read = file.tensors.at(name);
    EXPECT_EQ(read.scalar_type(), tensor.scalar_type()) << name;
    EXPECT_TRUE(torch::equal(read, tensor)) << name;
  }
  EXPECT_EQ(file.metadata.at("format"), "test");
  // The data starts 8-byte aligned, as the format asks.
  const auto bytes = read_text_file(path);
  uint64_t header = 0;
  for (int i = 7; i >= 0; --i) header = (header << 8) | static_cast<unsigned char>(bytes[i]);
  EXPECT_EQ(header % 8, 0u);
}

TEST(Safetensors, ReadsAHandMadeFile) {
  const float values[] = {1.0f, 2.0f, 3.0f, 4.0f};
  const std::string data(reinterpret_cast<const char*>(values), sizeof(values));
  const auto path = test::make_temp_dir("st-hand") + "/h.safetensors";
  write_bytes(path, hand_made(R"({"b":{"dtype":"F32","shape":[1],"data_offsets":[12,16]},)"
                              R"("a":{"dtype":"F32","shape":[3],"data_offsets":[0,12]}})",
                              data));
  auto file = read_safetensors(path);
  EXPECT_TRUE(torch::equal(file.tensors.at("a"), torch::tensor({1.0f, 2.0f, 3.0f})));
  EXPECT_EQ(file.tensors.at("b").item<float>(), 4.0f);
}

TEST(Safetensors, DamagedFilesAreClearErrors) {
  const auto dir = test::make_temp_dir("st-bad");
  write_safetensors(dir + "/good.safetensors", {{"w", torch::ones({4, 4})}});
  const auto good = read_text_file(dir + "/good.safetensors");
  write_bytes(dir + "/short.safetensors", good.substr(0, good.size() - 10));
  auto message = error_message_of([&] { read_safetensors(dir + "/short.safetensors"); });
  EXPECT_NE(message.find("'w'"), std::string::npos) << message;
  EXPECT_NE(message.find("truncated"), std::string::npos) << message;
  write_bytes(dir + "/tiny.safetensors", "abc");
  EXPECT_NE(error_message_of([&] { read_safetensors(dir + "/tiny.safetensors"); }).find("not a safetensors file"),
            std::string::npos);
  write_bytes(dir + "/header.safetensors", good.substr(0, 20));
  EXPECT_NE(error_message_of([&] { read_safetensors(dir + "/header.safetensors"); }).find("header claims"),
            std::string::npos);
  write_bytes(dir + "/json.safetensors", hand_made("{not json", ""));
  EXPECT_NE(error_message_of([&] { read_safetensors(dir + "/json.safetensors"); }).find("malformed"),
            std::string::npos);
  write_bytes(dir + "/dtype.safetensors",
              hand_made(R"({"x":{"dtype":"C64","shape":[1],"data_offsets":[0,8]}})", std::string(8, '\0')));
  EXPECT_NE(error_message_of([&] { read_safetensors(dir + "/dtype.safetensors"); }).find("'C64'"), std::string::npos);
  write_bytes(dir + "/size.safetensors",
              hand_made(R"({"x":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", std::string(8, '\0')));
  EXPECT_NE(error_message_of([&] { read_safetensors(dir + "/size.safetensors"); }).find("needs 12 bytes"),
            std::string::npos);
}

TEST(Safetensors, RepeatedNamesOverlapsHolesAndAbsurdShapesAreErrors) {
  // Issue 13: these loaded silently (the last name won; shared bytes).
  const auto dir = test::make_temp_dir("st-hostile");
  auto error = [&](const std::string& name, const std::string& header, std::size_t data_bytes) {
    write_bytes(dir + "/" + name, hand_made(header, std::string(data_bytes, '\0')));
    return error_message_of([&] { read_safetensors(dir + "/" + name); });
  };
  auto twice = error("twice.safetensors",
                     R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                     R"("a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                     8);
  EXPECT_NE(twice.find("names 'a' twice"), std::string::npos) << twice;
  auto overlap = error("overlap.safetensors",
                       R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                       R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                       12);
  EXPECT_NE(overlap.find("share bytes [4, 8)"), std::string::npos) << overlap;
  auto hole = error("hole.safetensors", R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", 8);
  EXPECT_NE(hole.find("bytes [0, 4) of the data buffer belong to no tensor"), std::string::npos) << hole;
  auto negative = error("negative.safetensors", R"({"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", 4);
  EXPECT_NE(negative.find("negative size -1"), std::string::npos) << negative;
  // A shape of 2^62 x 2^62 floats: refused from the header, never allocated.
  auto huge =
      error("huge.safetensors",
            R"({"a":{"dtype":"F32","shape":[4611686018427387904,4611686018427387904],"data_offsets":[0,4]}})", 4);
  EXPECT_NE(huge.find("needs 18446744073709551615 bytes"), std::string::npos) << huge;
}

TEST(ModuleState, SafetensorsRoundTripIsExact) {
  const auto path = test::make_temp_dir("st-vae") + "/vae.safetensors";
  seed_everything(1);
  Vae a = test::VaeSpec(12, 3).hidden({8}).likelihood("gaussian").build();
  write_safetensors(path, module_state(*a));
  seed_everything(2);
  Vae b = test::VaeSpec(12, 3).hidden({8}).likelihood("gaussian").build();
  load_module_state(*b, read_safetensors(path).tensors, path);
  for (const auto& [name, tensor] : module_state(*a)) {
    bool found = false;
    for (const auto& [other, value] : module_state(*b))
      if (other == name) found = torch::equal(value, tensor);
    EXPECT_TRUE(found) << name;
  }
}

TEST(ModuleState, MismatchesNameTheParameterAndShapes) {
  Vae vae = test::VaeSpec(12, 3).hidden({8}).build();
  auto state = read_safetensors([&] {
                 const auto path = test::make_temp_dir("st-mismatch") + "/vae.safetensors";
                 write_safetensors(path, module_state(*vae));
                 return path;
               }())
                   .tensors;
  auto missing = state;
  missing.erase("decoder.layers.1.bias");
  auto message = error_message_of([&] { load_module_state(*vae, missing, "w.safetensors"); });
  EXPECT_NE(message.find("lacks the parameter 'decoder.layers.1.bias' (shape [12])"), std::string::npos) << message;
  auto extra = state;
  extra["encoder.layers.2.weight"] = torch::zeros({2, 2});
  message = error_message_of([&] { load_module_state(*vae, extra, "w.safetensors"); });
  EXPECT_NE(message.find("'encoder.layers.2.weight'"), std::string::npos) << message;
  auto wrong = state;
  wrong["encoder.layers.0.weight"] = torch::zeros({9, 12});
  message = error_message_of([&] { load_module_state(*vae, wrong, "w.safetensors"); });
  EXPECT_NE(message.find("'encoder.layers.0.weight' has shape [9, 12], this model expects [8, 12]"), std::string::npos)
      << message;
}

}  // namespace
}  // namespace dgm
