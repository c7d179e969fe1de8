// The VAE as a LatentVariableModel: shapes, likelihoods against closed forms,
// checkpoints.

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "core/random.h"
#include "models/generation.h"
#include "models/vae.h"
#include "test_support.h"
#include "trainers/checkpoint.h"

namespace dgm {
namespace {

TEST(Vae, ShapesFollowTheSamplesFirstConvention) {
  seed_everything(0);
  Vae vae = test::VaeSpec(10, 3).hidden({8, 6}).build();
  auto x = torch::rand({4, 10});
  auto q = vae->encode(x);
  EXPECT_EQ(q.loc().sizes(), (std::vector<int64_t>{4, 3}));
  auto z = q.sample(5);
  EXPECT_EQ(z.sizes(), (std::vector<int64_t>{5, 4, 3}));
  EXPECT_EQ(vae->log_likelihood(x, z).sizes(), (std::vector<int64_t>{5, 4}));
  EXPECT_EQ(vae->log_joint(x, z).sizes(), (std::vector<int64_t>{5, 4}));
  EXPECT_EQ(sample_means(*vae, 7).sizes(), (std::vector<int64_t>{7, 10}));
  EXPECT_EQ(reconstruct(*vae, x).sizes(), (std::vector<int64_t>{4, 10}));
}

TEST(Vae, BernoulliLikelihoodIsTheBinaryLogLikelihoodOfTheLogits) {
  seed_everything(1);
  Vae vae = test::VaeSpec(6, 2).hidden({5}).build();
  auto x = torch::bernoulli(torch::full({3, 6}, 0.5));
  auto z = torch::randn({2, 3, 2});
  auto p = torch::sigmoid(vae->decode(z));
  auto expected = (x * torch::log(p) + (1 - x) * torch::log(1 - p)).sum(-1);
  EXPECT_TRUE(torch::allclose(vae->log_likelihood(x, z), expected, 1e-4, 1e-4));
}

TEST(Vae, MaskSumsOnlyObservedEntries) {
  seed_everything(2);
  Vae vae = test::VaeSpec(6, 2).hidden({5}).build();
  auto x = torch::bernoulli(torch::full({3, 6}, 0.5));
  auto z = torch::randn({2, 3, 2});
  auto mask = torch::zeros({3, 6});
  mask.slice(1, 0, 2) = 1;
  auto p = torch::sigmoid(vae->decode(z)).slice(2, 0, 2);
  auto xs = x.slice(1, 0, 2);
  auto expected = (xs * torch::log(p) + (1 - xs) * torch::log(1 - p)).sum(-1);
  EXPECT_TRUE(torch::allclose(vae->log_likelihood(x, z, mask), expected, 1e-4, 1e-4));
}

TEST(Vae, GaussianLikelihoodLearnsOrFixesThePerPixelVariance) {
  seed_everything(3);
  Vae learned = test::VaeSpec(4, 2).hidden({5}).likelihood("gaussian").variance(0.25).build();
  Vae fixed = test::VaeSpec(4, 2).hidden({5}).likelihood("gaussian").variance(0.25).learn_variance(false).build();
  EXPECT_EQ(learned->parameters().size(), fixed->parameters().size() + 1);
  auto x = torch::randn({3, 4});
  auto z = torch::randn({1, 3, 2});
  auto mean = fixed->decode(z);
  auto expected = (-0.5 * (x - mean).pow(2) / 0.25 - 0.5 * std::log(2 * M_PI * 0.25)).sum(-1);
  EXPECT_TRUE(torch::allclose(fixed->log_likelihood(x, z), expected, 1e-4, 1e-4));
}

TEST(Vae, UnknownLikelihoodOrActivationIsAnError) {
  EXPECT_THROW(test::VaeSpec(4, 2).likelihood("poisson"), Error);
  EXPECT_THROW(test::VaeSpec(4, 2).activation("swish"), Error);
  const auto message = test::error_message_of([] { parse_enum<Likelihood>("poisson"); });
  EXPECT_NE(message.find("unknown likelihood 'poisson': use bernoulli"), std::string::npos) << message;
  EXPECT_NE(message.find("discretized_logistic"), std::string::npos) << message;
}

TEST(ConvVae, ShapesForEvenAndOddPictureSizes) {
  seed_everything(2);
  Vae vae = test::VaeSpec(784, 8).network("conv").image_shape({28, 28}).hidden({64}).build();
  auto x = torch::rand({5, 784});
  EXPECT_EQ(vae->encode(x).loc().sizes(), (std::vector<int64_t>{5, 8}));
  EXPECT_EQ(vae->decode(torch::randn({3, 5, 8})).sizes(), (std::vector<int64_t>{3, 5, 784}));
  // 7 x 9 pictures with 2 channels: 7 -> 4 -> 2 and 9 -> 5 -> 3, and back to 7 x 9.
  Vae odd = test::VaeSpec(126, 3).network("conv").image_shape({2, 7, 9}).conv_channels({4, 8}).hidden({}).build();
  EXPECT_EQ(odd->decode(torch::randn({6, 3})).sizes(), (std::vector<int64_t>{6, 126}));
  EXPECT_EQ(odd->log_joint(torch::rand({6, 126}).round(), torch::randn({2, 6, 3})).sizes(),
            (std::vector<int64_t>{2, 6}));
  auto message = test::error_message_of([] { test::VaeSpec(10, 2).network("conv").build(); });
  EXPECT_NE(message.find("model.network = conv needs pictures"), std::string::npos) << message;
  message = test::error_message_of([] {
    test::VaeSpec(16, 2).network("conv").image_shape({4, 4}).conv_channels({2, 2, 2, 2}).build();
  });
  EXPECT_NE(message.find("too many for 4x4 pictures"), std::string::npos) << message;
}

TEST(ConvVae, EncoderIsTheConvolutionsComputedByHand) {
  seed_everything(3);
  Vae vae = test::VaeSpec(784, 4).network("conv").image_shape({28, 28}).conv_channels({3, 5}).hidden({}).build();
  auto params = vae->named_parameters();
  auto x = torch::rand({2, 784});
  auto h = torch::relu(
      torch::conv2d(x.view({2, 1, 28, 28}), params["encoder.conv0.weight"], params["encoder.conv0.bias"], 2, 1));
  h = torch::relu(torch::conv2d(h, params["encoder.conv1.weight"], params["encoder.conv1.bias"], 2, 1));
  EXPECT_EQ(h.sizes(), (std::vector<int64_t>{2, 5, 7, 7}));
  auto out = torch::linear(h.flatten(1), params["encoder.head.layers.0.weight"], params["encoder.head.layers.0.bias"]);
  EXPECT_TRUE(torch::allclose(vae->encode(x).loc(), out.narrow(1, 0, 4), 1e-5, 1e-6));
  // And the decoder's last layer is a transposed convolution back to 28 x 28.
  EXPECT_EQ(params["decoder.deconv1.weight"].sizes(), (std::vector<int64_t>{3, 1, 4, 4}));
}

}  // namespace
}  // namespace dgm
