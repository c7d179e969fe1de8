// The draws every sampling estimator takes (estimators/log_weights.h): the
// same draws however they are chunked, one at a time or in blocks, and the
// CPU's tiles on several threads weigh them as one chunk would.

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "core/distributions.h"
#include "core/error.h"
#include "core/random.h"
#include "estimators/log_weights.h"
#include "models/vae.h"
#include "test_support.h"

namespace dgm {
namespace {

using test::kF64;

TEST(SampleStream, ChunksDoNotChangeTheDrawsInEitherMode) {
  // The block mode is what runs on a GPU; it is checked here on the CPU.
  DiagNormal q(torch::randn({3, 2}), torch::rand({3, 2}) + 0.5);
  Bernoulli b(torch::randn({3, 4}));
  for (const bool in_blocks : {false, true}) {
    for (const Distribution* d : {static_cast<const Distribution*>(&q), static_cast<const Distribution*>(&b)}) {
      seed_everything(8);
      auto whole = SampleStream(*d, 1000, in_blocks).next(1000);
      seed_everything(8);
      SampleStream stream(*d, 1000, in_blocks);
      auto pieces = torch::cat({stream.next(70), stream.next(250), stream.next(1), stream.next(679)});
      EXPECT_TRUE(torch::equal(whole, pieces)) << d->name() << (in_blocks ? " in blocks" : " one by one");
      EXPECT_EQ(whole.size(0), 1000);
      EXPECT_THROW(stream.next(1), Error);
    }
  }
  // Block draws are gradients' paths too.
  auto loc = torch::zeros({2, 3}, torch::requires_grad());
  DiagNormal r(loc, torch::ones({2, 3}));
  SampleStream(r, 300, true).next(300).sum().backward();
  EXPECT_TRUE(torch::allclose(loc.grad(), torch::full({2, 3}, 300.0)));
}

TEST(WeighInChunks, CpuTilesOnSeveralThreadsGiveTheWholeChunksDraws) {
  // 300 x 784 values: tiles of kTileValues / 235,200 = 2 samples, so each
  // chunk of 7 is weighed as tiles 2, 2, 2, 1 on the cores; with gradients on
  // each chunk is weighed whole on one thread. Same draws, same weights.
  seed_everything(0);
  Vae vae = test::VaeSpec(784, 4).hidden({32}).build();
  vae->to(torch::kFloat64);
  auto x = torch::bernoulli(torch::full({300, 784}, 0.3, kF64));
  ASSERT_EQ(kTileValues / x.numel(), 2);
  auto weigh = [&](bool gradients) {
    torch::AutoGradMode mode(gradients);
    seed_everything(5);
    auto q = vae->proposal(x);
    std::vector<torch::Tensor> zs, log_ws;
    weigh_in_chunks(*vae, x, *q, 18, 7, {}, [&](const torch::Tensor& z, const torch::Tensor& log_w) {
      zs.push_back(z.detach());
      log_ws.push_back(log_w.detach());
    });
    return std::make_pair(zs, log_ws);
  };
  auto [whole_z, whole_w] = weigh(true);
  auto [tiled_z, tiled_w] = weigh(false);
  ASSERT_EQ(whole_z.size(), 3u);
  ASSERT_EQ(tiled_z.size(), 3u);
  const std::vector<int64_t> sizes{7, 7, 4};
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    EXPECT_EQ(tiled_w[i].sizes(), (std::vector<int64_t>{sizes[i], 300})) << i;
    EXPECT_TRUE(torch::equal(whole_z[i], tiled_z[i])) << "chunk " << i << ": the draws differ";
    EXPECT_TRUE(torch::allclose(whole_w[i], tiled_w[i], 1e-12, 1e-9)) << "chunk " << i;
  }
}

}  // namespace
}  // namespace dgm
