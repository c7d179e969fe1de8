// k-means (trainers/kmeans.h), EM's initialisation: the nearest centre by
// brute force, seeding that picks data points, Lloyd steps that find the
// centres of well separated clusters, and threads that change nothing.

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "core/random.h"
#include "test_support.h"
#include "trainers/kmeans.h"

namespace dgm {
namespace {

using test::kF64;

TEST(Kmeans, NearestCentresAreTheBruteForceArgmin) {
  torch::manual_seed(2);
  auto x = torch::randn({1000, 5}, kF64);
  auto centres = torch::randn({7, 5}, kF64);
  auto by_hand = (x.unsqueeze(1) - centres.unsqueeze(0)).pow(2).sum(-1).argmin(1);
  EXPECT_TRUE(torch::equal(nearest_centres(x, centres, 128, 1), by_hand));
  EXPECT_TRUE(torch::equal(nearest_centres(x, centres, 77, 3), by_hand));
  EXPECT_TRUE(torch::allclose(squared_distances(x, centres), (x.unsqueeze(1) - centres.unsqueeze(0)).pow(2).sum(-1),
                              1e-9, 1e-9));
}

TEST(Kmeans, SeedingPicksDistinctDataPoints) {
  auto x = test::three_cluster_points(600);
  seed_everything(4);
  auto seeds = kmeans_plus_plus(x, 3);
  ASSERT_EQ(seeds.sizes(), (std::vector<int64_t>{3, 2}));
  for (int64_t c = 0; c < 3; ++c) EXPECT_EQ((x - seeds[c]).abs().sum(-1).eq(0).sum().item<int64_t>(), 1) << c;
}

TEST(Kmeans, LloydStepsFindTheCentresOfSeparatedClusters) {
  auto x = test::three_cluster_points(6000);
  seed_everything(5);
  auto centres = kmeans_centres(x, 3, 30, 512, 1);
  auto order = std::get<1>(centres.select(1, 0).sort());
  auto truth = test::three_clusters().means();
  auto true_order = std::get<1>(truth.select(1, 0).sort());
  EXPECT_TRUE(torch::allclose(centres.index_select(0, order), truth.index_select(0, true_order), 0, 0.1));
  seed_everything(5);
  EXPECT_TRUE(torch::allclose(kmeans_centres(x, 3, 30, 100, 3), centres, 1e-12, 1e-12));
}

}  // namespace
}  // namespace dgm
