// The IWAE paper's two stochastic layers: the densities of both layers against
// hand computations, ancestral sampling, the bounds through the hierarchy,
// the output-bias initialisation, and a short run of the shipped config.

#include <gtest/gtest.h>
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <cmath>

#include "core/random.h"
#include "estimators/iwae_bound.h"
#include "models/generation.h"
#include "models/mlp.h"
#include "models/vae.h"
#include "test_support.h"

namespace dgm {
namespace {

using test::kF64;

Vae two_layer_vae() {
  seed_everything(5);
  Vae vae = test::VaeSpec(784, 6).hidden({32}).second_latent_dim(3).second_hidden({16}).activation("tanh").build();
  vae->to(torch::kFloat64);
  return vae;
}

torch::Tensor run_network(VaeImpl& vae, const std::string& name, const torch::Tensor& input) {
  auto module = vae.named_children()[name];
  return std::dynamic_pointer_cast<MlpImpl>(module)->forward(input);
}

/// log N(v; mu, exp(log_var)) summed over the last dimension.
torch::Tensor normal_log_density(const torch::Tensor& v, const torch::Tensor& mu, const torch::Tensor& log_var) {
  return (-0.5 * ((v - mu).pow(2) / log_var.exp() + log_var + std::log(2 * M_PI))).sum(-1);
}

TEST(TwoLayerVae, DensitiesAreThoseOfBothLayersComputedByHand) {
  auto vae = two_layer_vae();
  auto x = test::binary_fashion_mnist(5).to(torch::kFloat64);
  EXPECT_EQ(vae->latent_dim(), 9);
  auto q = vae->proposal(x);
  auto z = q->rsample(4);
  ASSERT_EQ(z.sizes(), (std::vector<int64_t>{4, 5, 9}));
  auto z1 = z.narrow(-1, 0, 6), z2 = z.narrow(-1, 6, 3);

  auto first = run_network(*vae, "encoder", x).chunk(2, -1);
  auto second = run_network(*vae, "upper_encoder", z1).chunk(2, -1);
  auto log_q = normal_log_density(z1, first[0], first[1]) + normal_log_density(z2, second[0], second[1]);
  EXPECT_TRUE(torch::allclose(q->log_prob(z), log_q, 1e-10, 1e-10));

  auto upper = run_network(*vae, "upper_decoder", z2).chunk(2, -1);
  auto logits = run_network(*vae, "decoder", z1);
  auto log_p = normal_log_density(z2, torch::zeros_like(z2), torch::zeros_like(z2)) +
               normal_log_density(z1, upper[0], upper[1]) + (x * logits - torch::softplus(logits)).sum(-1);
  EXPECT_TRUE(torch::allclose(vae->log_joint(x, z), log_p, 1e-10, 1e-9));

  // The prior samples z2 first and z1 from p(z1 | z2); both layers move.
  auto prior_draws = vae->prior(5)->sample(3);
  EXPECT_EQ(prior_draws.sizes(), (std::vector<int64_t>{3, 5, 9}));
  EXPECT_EQ(sample_means(*vae, 7).sizes(), (std::vector<int64_t>{7, 784}));
}

TEST(TwoLayerVae, AncestralSamplingFollowsTheConditional) {
  // z2 | z1 ~ N(mu(z1), sigma(z1)^2): the standardized residuals of z2 given
  // the drawn z1 are N(0, 1).
  auto vae = two_layer_vae();
  auto x = test::binary_fashion_mnist(1).to(torch::kFloat64);
  torch::NoGradGuard no_grad;
  auto z = vae->proposal(x)->sample(20000).squeeze(1);
  auto second = run_network(*vae, "upper_encoder", z.narrow(-1, 0, 6)).chunk(2, -1);
  auto residual = (z.narrow(-1, 6, 3) - second[0]) / (0.5 * second[1]).exp();
  EXPECT_NEAR(residual.mean().item<double>(), 0.0, 0.02);
  EXPECT_NEAR(residual.var().item<double>(), 1.0, 0.03);
}

TEST(TwoLayerVae, IwaeAndDregWorkThroughBothLayers) {
  auto vae = two_layer_vae();
  auto x = test::binary_fashion_mnist(6).to(torch::kFloat64);
  // k = 1: the bound is the log-weight of the one draw.
  seed_everything(2);
  EstimatorOptions one;
  one.k = 1;
  auto bound = iwae_bound(*vae, x, one);
  seed_everything(2);
  auto q = vae->proposal(x);
  auto z = q->rsample(1);
  EXPECT_TRUE(torch::allclose(bound, (vae->log_joint(x, z) - q->log_prob(z)).squeeze(0), 1e-10, 1e-9));
  // DReG: the same value, and the same gradient for both decoders, from the same draws.
  EstimatorOptions many;
  many.k = 7;
  seed_everything(3);
  auto standard = iwae_bound(*vae, x, many);
  (-standard.mean()).backward();
  std::vector<torch::Tensor> decoder_gradients;
  for (const auto& p : vae->named_parameters())
    if (p.key().find("decoder") != std::string::npos) decoder_gradients.push_back(p.value().grad().clone());
  ASSERT_FALSE(decoder_gradients.empty());
  vae->zero_grad();
  seed_everything(3);
  many.gradient = Gradient::kDreg;
  auto dreg = iwae_bound(*vae, x, many);
  (-dreg.mean()).backward();
  EXPECT_TRUE(torch::allclose(dreg, standard, 1e-12, 1e-10));
  std::size_t i = 0;
  for (const auto& p : vae->named_parameters())
    if (p.key().find("decoder") != std::string::npos)
      EXPECT_TRUE(torch::allclose(p.value().grad(), decoder_gradients[i++], 1e-9, 1e-11)) << p.key();
  // The upper encoder gets a gradient too: the bound runs through q(z2 | z1).
  EXPECT_GT(vae->named_parameters()["upper_encoder.layers.0.weight"].grad().abs().sum().item<double>(), 0.0);
}

TEST(TwoLayerVae, OutputBiasStartsAtTheDataLogOdds) {
  auto vae = two_layer_vae();
  auto mean = torch::rand({784}, kF64) * 0.8 + 0.1;
  mean[0] = 0.0;  // clamped to 1e-3
  vae->init_output_bias(mean);
  auto bias = vae->named_parameters()["decoder.layers.1.bias"];
  auto p = mean.clamp(1e-3, 1 - 1e-3);
  EXPECT_TRUE(torch::allclose(bias, torch::log(p / (1 - p)), 1e-12, 1e-10));
}

}  // namespace
}  // namespace dgm
