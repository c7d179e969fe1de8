// The linear assignment (core/assignment.h) against every permutation, and
// cluster accuracy built on it.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <numeric>

#include "core/assignment.h"
#include "estimators/classification.h"

namespace dgm {
namespace {

/// The best total over every way of matching the rows of `score` to distinct columns.
double brute_force_best(const torch::Tensor& score) {
  const int64_t rows = score.size(0), columns = score.size(1);
  std::vector<int64_t> order(std::max(rows, columns));
  std::iota(order.begin(), order.end(), 0);
  double best = -1e300;
  do {
    double total = 0.0;
    for (int64_t i = 0; i < rows; ++i)
      if (order[i] < columns) total += score[i][order[i]].item<double>();
    best = std::max(best, total);
  } while (std::next_permutation(order.begin(), order.end()));
  return best;
}

double total_of(const torch::Tensor& score, const std::vector<int64_t>& match) {
  double total = 0.0;
  for (std::size_t i = 0; i < match.size(); ++i)
    if (match[i] >= 0) total += score[i][match[i]].item<double>();
  return total;
}

TEST(BestAssignment, FindsTheBestMatchingOfEveryShape) {
  torch::manual_seed(4);
  for (const auto& [rows, columns] : std::vector<std::pair<int64_t, int64_t>>{{6, 6}, {3, 6}, {6, 3}, {1, 1}}) {
    for (int trial = 0; trial < 5; ++trial) {
      auto score = torch::randint(0, 20, {rows, columns}, torch::kFloat64) - 5.0;
      auto match = best_assignment(score);
      ASSERT_EQ(static_cast<int64_t>(match.size()), rows);
      std::vector<int64_t> used;
      for (auto c : match)
        if (c >= 0) used.push_back(c);
      std::sort(used.begin(), used.end());
      EXPECT_EQ(std::adjacent_find(used.begin(), used.end()), used.end()) << "a column used twice";
      EXPECT_EQ(static_cast<int64_t>(used.size()), std::min(rows, columns));
      EXPECT_DOUBLE_EQ(total_of(score, match), brute_force_best(score)) << rows << "x" << columns;
    }
  }
}

TEST(ClusterAccuracy, IsOneForAPermutationOfTheClassesAndNamesTheClusters) {
  auto labels = torch::tensor({0, 0, 1, 1, 2, 2, 2, -1}, torch::kLong);
  auto clusters = torch::tensor({2, 2, 0, 0, 1, 1, 1, 0}, torch::kLong);  // the last one is unlabelled
  ClusterMatch match = cluster_accuracy(labels, clusters, 3, 3);
  EXPECT_DOUBLE_EQ(match.accuracy, 1.0);
  EXPECT_EQ(match.class_of_cluster, (std::vector<int64_t>{1, 2, 0}));
  EXPECT_DOUBLE_EQ(accuracy(labels, clusters), 0.0);  // plain accuracy takes cluster k for class k
  // One mistake in seven labelled examples.
  clusters[6] = 0;
  EXPECT_NEAR(cluster_accuracy(labels, clusters, 3, 3).accuracy, 6.0 / 7.0, 1e-12);
  auto counts = confusion_matrix(labels, clusters, 3, 3);
  EXPECT_EQ(counts.sum().item<int64_t>(), 7);
  EXPECT_EQ(counts[2][0].item<int64_t>(), 1);
  EXPECT_EQ(counts[2][1].item<int64_t>(), 2);
}

}  // namespace
}  // namespace dgm
