#include "estimators/classification.h"

#include <torch/torch.h>

#include <cmath>
#include <limits>

#include "core/assignment.h"
#include "core/error.h"

namespace dgm {

torch::Tensor confusion_matrix(const torch::Tensor& labels, const torch::Tensor& predicted, int64_t classes,
                               int64_t predicted_classes) {
  if (labels.sizes() != predicted.sizes() || labels.dim() != 1)
    fail("confusion matrix: {} labels against {} predictions; give one of each per example", labels.numel(),
         predicted.numel());
  auto y = labels.to(torch::kCPU, torch::kLong), guess = predicted.to(torch::kCPU, torch::kLong);
  auto known = y >= 0;
  y = y.masked_select(known);
  guess = guess.masked_select(known);
  if (y.numel() > 0 && (y.max().item<int64_t>() >= classes || guess.min().item<int64_t>() < 0 ||
                        guess.max().item<int64_t>() >= predicted_classes))
    fail("confusion matrix: a label or prediction lies outside {} x {} classes", classes, predicted_classes);
  return torch::bincount(y * predicted_classes + guess, {}, classes * predicted_classes)
      .view({classes, predicted_classes});
}

double accuracy(const torch::Tensor& labels, const torch::Tensor& predicted) {
  auto y = labels.to(torch::kCPU, torch::kLong), guess = predicted.to(torch::kCPU, torch::kLong);
  const int64_t known = (y >= 0).sum().item<int64_t>();
  if (known == 0) return std::numeric_limits<double>::quiet_NaN();
  return static_cast<double>(((y == guess) & (y >= 0)).sum().item<int64_t>()) / static_cast<double>(known);
}

ClusterMatch cluster_accuracy(const torch::Tensor& labels, const torch::Tensor& clusters, int64_t classes,
                              int64_t cluster_count) {
  auto counts = confusion_matrix(labels, clusters, classes, cluster_count);  // [classes, clusters]
  ClusterMatch match;
  const auto class_of_row = best_assignment(counts.t());  // cluster -> class
  match.class_of_cluster = class_of_row;
  int64_t right = 0;
  for (int64_t k = 0; k < cluster_count; ++k)
    if (class_of_row[k] >= 0) right += counts[class_of_row[k]][k].item<int64_t>();
  const int64_t known = counts.sum().item<int64_t>();
  match.accuracy =
      known > 0 ? static_cast<double>(right) / static_cast<double>(known) : std::numeric_limits<double>::quiet_NaN();
  return match;
}

}  // namespace dgm
