// Models trained elsewhere, as TorchScript encoder/decoder pairs: the contract,
// its violations, and agreement with the same model run natively.

#include <gtest/gtest.h>
#include <torch/script.h>
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <fstream>

#include "apps/pictures.h"
#include "core/npy.h"
#include "core/png_grid.h"
#include "core/random.h"
#include "core/torch_state_dict.h"
#include "estimators/elbo.h"
#include "estimators/iwae_bound.h"
#include "models/foreign_weights.h"
#include "models/torchscript_vae.h"
#include "models/vae.h"
#include "test_support.h"

namespace dgm {
namespace {

/// A TorchScript module with the weights of two Linear layers of `vae` under
/// `prefix` (encoder or decoder), running `body` as its forward.
torch::jit::Module scripted(VaeImpl& vae, const std::string& prefix, const std::string& body) {
  torch::jit::Module module(prefix);
  auto params = vae.named_parameters();
  for (int i = 0; i < 2; ++i) {
    module.register_parameter("w" + std::to_string(i),
                              params[prefix + ".layers." + std::to_string(i) + ".weight"].detach().clone(), false);
    module.register_parameter("b" + std::to_string(i),
                              params[prefix + ".layers." + std::to_string(i) + ".bias"].detach().clone(), false);
  }
  module.define(body);
  return module;
}

const char* kEncoder = R"(
def forward(self, x):
    h = torch.relu(torch.matmul(x, self.w0.t()) + self.b0)
    out = torch.matmul(h, self.w1.t()) + self.b1
    parts = out.chunk(2, -1)
    return (parts[0], parts[1])
)";

const char* kDecoder = R"(
def forward(self, z):
    h = torch.relu(torch.matmul(z, self.w0.t()) + self.b0)
    return torch.matmul(h, self.w1.t()) + self.b1
)";

struct Exported {
  std::string encoder, decoder, dir;
};

Exported export_pair(VaeImpl& vae, const std::string& name, const char* encoder_body = kEncoder,
                     const char* decoder_body = kDecoder) {
  Exported paths;
  paths.dir = test::make_temp_dir(name);
  paths.encoder = paths.dir + "/encoder.pt";
  paths.decoder = paths.dir + "/decoder.pt";
  scripted(vae, "encoder", encoder_body).save(paths.encoder);
  scripted(vae, "decoder", decoder_body).save(paths.decoder);
  return paths;
}

using TorchScriptModel = test::TrainedVaeTest;

TEST_F(TorchScriptModel, EstimatorsAgreeWithTheNativeModel) {
  const auto paths = export_pair(vae(), "ts-agree");
  TorchScriptVae scripted_vae(paths.encoder, paths.decoder, Likelihood::kBernoulli, 784, torch::kCPU);
  EXPECT_EQ(scripted_vae.latent_dim(), 10);
  torch::NoGradGuard no_grad;
  auto x = test::binary_fashion_mnist(50, Split::kTest);
  seed_everything(3);
  auto native = iwae_bound(vae(), x, {20, 0});
  seed_everything(3);
  auto foreign = iwae_bound(scripted_vae, x, {20, 0});
  EXPECT_TRUE(torch::allclose(native, foreign, 1e-4, 1e-3));
  seed_everything(4);
  auto native_elbo = elbo(vae(), x).elbo;
  seed_everything(4);
  EXPECT_TRUE(torch::allclose(native_elbo, elbo(scripted_vae, x).elbo, 1e-4, 1e-3));
}

TEST_F(TorchScriptModel, DgmEvalRunsTheContract) {
  const auto paths = export_pair(vae(), "ts-cli");
  write_npy(paths.dir + "/x.npy", test::binary_fashion_mnist(30, Split::kTest));
  auto result = test::run_dgm("eval --encoder " + paths.encoder + " --decoder " + paths.decoder + " --data " +
                              paths.dir + "/x.npy --k 10 --json");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  auto json = nlohmann::json::parse(result.output.substr(result.output.find('{')));
  EXPECT_EQ(json.at("n").get<int>(), 30);
  EXPECT_GT(json.at("iwae").get<double>(), json.at("elbo").get<double>());
  auto estimate = test::run_dgm("estimate --encoder " + paths.encoder + " --decoder " + paths.decoder + " --data " +
                                paths.dir + "/x.npy --n 20 --k 10 --repeats 2 --estimators naive,is,elbo --json");
  ASSERT_EQ(estimate.exit_code, 0) << estimate.output;
  auto estimates = nlohmann::json::parse(estimate.output.substr(estimate.output.find('{'))).at("estimators");
  EXPECT_GT(estimates.at("is").at("10").at("mean").get<double>(),
            estimates.at("naive").at("10").at("mean").get<double>());
  auto incomplete = test::run_dgm("eval --encoder " + paths.encoder + " --data " + paths.dir + "/x.npy");
  EXPECT_EQ(incomplete.exit_code, 2);
  EXPECT_NE(incomplete.output.find("--decoder"), std::string::npos) << incomplete.output;
}

TEST_F(TorchScriptModel, DgmSampleDrawsAsFromTheNativeModel) {
  const auto paths = export_pair(vae(), "ts-sample");
  write_npy(paths.dir + "/x.npy", test::binary_fashion_mnist(200, Split::kTest).view({200, 28, 28}));
  auto result = test::run_dgm("sample --encoder " + paths.encoder + " --decoder " + paths.decoder + " --data " +
                              paths.dir + "/x.npy --n 12 --seed 5 --device cpu --out " + paths.dir + "/ts.png");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  seed_everything(5);
  write_samples_png(vae(), 12, {28, 28}, paths.dir + "/native.png");
  auto difference = (read_png(paths.dir + "/ts.png") - read_png(paths.dir + "/native.png")).abs();
  EXPECT_LE(difference.max().item<double>(), 1.0);  // one grey level, from rounding
  auto mixture = test::run_dgm("sample --encoder " + paths.encoder + " --decoder " + paths.decoder + " --data " +
                               paths.dir + "/x.npy --n 12 --latent-sampler gmm:3 --out " + paths.dir + "/gmm.png");
  ASSERT_EQ(mixture.exit_code, 0) << mixture.output;
  EXPECT_NE(mixture.output.find("fitted to the encoder means of 200"), std::string::npos) << mixture.output;
  auto neither = test::run_dgm("sample --out x.png");
  EXPECT_EQ(neither.exit_code, 2);
  EXPECT_NE(neither.output.find("--run DIR, --encoder"), std::string::npos) << neither.output;
}

TEST(TorchScriptFixture, PairExportedFromPythonGivesPythonsBounds) {
  // tests/fixtures/make_python_fixtures.py scripted this pair in Python and
  // computed each image's IWAE-5000 there.
  const std::string fixtures = std::string(DGM_SOURCE_DIR) + "/tests/fixtures/";
  std::map<std::string, torch::Tensor> python;
  for (auto& [name, tensor] : read_torch_state_dict(fixtures + "python_bounds.pt")) python[name] = tensor;
  TorchScriptVae pair(fixtures + "python_encoder.pt", fixtures + "python_decoder.pt", Likelihood::kBernoulli, 784,
                      torch::kCPU);
  torch::NoGradGuard no_grad;
  EstimatorOptions options;
  options.k = 5000;
  options.chunk = 500;
  seed_everything(0);
  auto bound = iwae_bound(pair, python["x"], options);
  // Different random draws: per image the two draws in Python differed by up to
  // 0.16 nats; the mean over 20 images agrees far closer.
  EXPECT_NEAR(bound.mean().item<double>(), python["iwae"].mean().item<double>(), 0.1);
  EXPECT_LT((bound - python["iwae"]).abs().max().item<double>(), 0.5);
  // The same weights as a state dict in the native VAE: the same bound from the same draws.
  Vae vae = test::VaeSpec(784, 4).hidden({16}).build();
  load_foreign_weights(*vae, fixtures + "python_vae.pt");
  seed_everything(0);
  EXPECT_TRUE(torch::allclose(iwae_bound(*vae, python["x"], options), bound, 1e-5, 1e-3));
}

TEST_F(TorchScriptModel, BrokenContractsAreNamed) {
  // An encoder that returns one tensor, a decoder whose output is too short.
  const auto one_output = export_pair(vae(), "ts-one", R"(
def forward(self, x):
    return torch.matmul(torch.relu(torch.matmul(x, self.w0.t()) + self.b0), self.w1.t()) + self.b1
)");
  auto message = test::error_message_of(
      [&] { TorchScriptVae(one_output.encoder, one_output.decoder, Likelihood::kBernoulli, 784, torch::kCPU); });
  EXPECT_NE(message.find("returned 1 tensor(s)"), std::string::npos) << message;
  EXPECT_NE(message.find("(mu [B, D_z], logvar [B, D_z])"), std::string::npos) << message;
  const auto short_decoder = export_pair(vae(), "ts-short", kEncoder, R"(
def forward(self, z):
    h = torch.relu(torch.matmul(z, self.w0.t()) + self.b0)
    return (torch.matmul(h, self.w1.t()) + self.b1)[..., :700]
)");
  message = test::error_message_of(
      [&] { TorchScriptVae(short_decoder.encoder, short_decoder.decoder, Likelihood::kBernoulli, 784, torch::kCPU); });
  EXPECT_NE(message.find("[3, 2, 700]"), std::string::npos) << message;
  EXPECT_NE(message.find("expected [3, 2, 784]"), std::string::npos) << message;
  message = test::error_message_of(
      [&] { TorchScriptVae(short_decoder.encoder, short_decoder.decoder, Likelihood::kGaussian, 784, torch::kCPU); });
  EXPECT_NE(message.find("tuple (mean, logvar)"), std::string::npos) << message;
  std::ofstream(one_output.dir + "/junk.pt") << "not a zip archive";
  message = test::error_message_of([&] {
    TorchScriptVae(one_output.dir + "/junk.pt", one_output.decoder, Likelihood::kBernoulli, 784, torch::kCPU);
  });
  EXPECT_NE(message.find("is not a TorchScript module"), std::string::npos) << message;
}

}  // namespace
}  // namespace dgm
