// TorchScript and checkpoint archives (core/torch_archive.h): every pickle
// of a real one passes dgm's strict reader in its TorchScript dialect;
// crafted ones — the records that crashed LibTorch's unpickler, inside a
// TorchScript file and inside a checkpoint — are clear errors before
// LibTorch's loader sees them; flipped bits are caught by the CRC.

#include <caffe2/serialize/inline_container.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <fstream>
#include <iterator>

#include "core/torch_archive.h"
#include "models/torchscript_vae.h"
#include "test_support.h"
#include "trainers/checkpoint.h"

namespace dgm {
namespace {

using test::kFixtures;

/// A TorchScript-shaped archive: `pickle` as data.pkl, an empty constants.pkl, one code record.
std::string crafted_module(const std::string& path, const std::string& pickle) {
  caffe2::serialize::PyTorchStreamWriter writer(path);
  const std::string constants = "\x80\x02).";
  const std::string code = "class Module:\n  pass\n";
  writer.writeRecord("data.pkl", pickle.data(), pickle.size());
  writer.writeRecord("constants.pkl", constants.data(), constants.size());
  writer.writeRecord("code/__torch__.py", code.data(), code.size());
  writer.writeEndOfFile();
  return path;
}

TEST(TorchArchive, RealTorchScriptFilesAndCheckpointsPass) {
  EXPECT_NO_THROW(check_torchscript_archive(kFixtures + "python_encoder.pt"));  // deflated code records too
  EXPECT_NO_THROW(check_torchscript_archive(kFixtures + "python_decoder.pt"));
  const auto dir = test::make_temp_dir("archive-checkpoint");
  Vae vae = test::make_vae(3, {8});
  torch::optim::Adam adam(vae->parameters());
  save_checkpoint(dir + "/last.pt", *vae, &adam, TrainingState{});
  EXPECT_NO_THROW(check_torchscript_archive(dir + "/last.pt"));
  Vae again = test::make_vae(3, {8});
  torch::optim::Adam adam_again(again->parameters());
  EXPECT_NO_THROW(load_checkpoint(dir + "/last.pt", *again, &adam_again));
  EXPECT_TRUE(torch::equal(again->parameters().front(), vae->parameters().front()));
}

TEST(TorchArchive, CraftedPicklesInATorchScriptFileOrACheckpointAreClearErrors) {
  const auto dir = test::make_temp_dir("archive-crafted");
  const std::vector<std::string> hostile = {"\x80\x02R.",
                                            "\x80\x02b.",
                                            std::string("\x80\x02\x85."),
                                            "\x80\x02}NNu.",
                                            "\x80\x02X\xff\xff\xff\x7f.",
                                            "\x80\x02"
                                            "cos\nsystem\n."};
  int i = 0;
  for (const auto& pickle : hostile) {
    const auto path = crafted_module(dir + "/m" + std::to_string(i++) + ".pt", pickle);
    auto message = test::error_message_of(
        [&] { TorchScriptVae model(path, kFixtures + "python_decoder.pt", Likelihood::kBernoulli, 784, torch::kCPU); });
    EXPECT_TRUE(message.find("is not a pickle dgm reads") != std::string::npos ||
                message.find("is damaged (or crafted)") != std::string::npos)
        << message;
    EXPECT_NE(message.find(path), std::string::npos) << message;
    Vae vae = test::make_vae(3, {8});
    message = test::error_message_of([&] { load_checkpoint(path, *vae, nullptr); });
    EXPECT_TRUE(message.find("is not a pickle dgm reads") != std::string::npos ||
                message.find("is damaged (or crafted)") != std::string::npos)
        << message;
  }
  // A module object may not be anything but a TorchScript class.
  const auto path = crafted_module(dir + "/newobj.pt",
                                   "\x80\x02"
                                   "ccollections\nOrderedDict\n)\x81.");
  EXPECT_NE(test::error_message_of([&] { check_torchscript_archive(path); }).find("NEWOBJ of anything but"),
            std::string::npos);
}

TEST(TorchArchive, FlippedBitsInACheckpointAreNamedByTheCrc) {
  // Issue 13: flipped bits in a tensor loaded without complaint.
  const auto dir = test::make_temp_dir("archive-flipped");
  Vae vae = test::make_vae(3, {64});
  save_checkpoint(dir + "/best.pt", *vae, nullptr, TrainingState{});
  std::ifstream in(dir + "/best.pt", std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  in.close();
  // The largest record (the 784 x 64 decoder weight) fills most of the file: flip a bit in its middle.
  bytes[bytes.size() / 2] = static_cast<char>(bytes[bytes.size() / 2] ^ 0x04);
  std::ofstream(dir + "/best.pt", std::ios::binary | std::ios::trunc) << bytes;
  Vae other = test::make_vae(3, {64});
  const auto message = test::error_message_of([&] { load_checkpoint(dir + "/best.pt", *other, nullptr); });
  EXPECT_NE(message.find("does not match its CRC-32"), std::string::npos) << message;
}

}  // namespace
}  // namespace dgm
