#pragma once
// How well a model names the classes of examples: accuracy, the confusion
// matrix, and, for a clustering whose cluster numbers mean nothing by
// themselves, cluster accuracy (the best one-to-one naming of clusters by
// classes, core/assignment.h). Examples whose class is unknown (label -1)
// are left out of every count.

#include <torch/types.h>

#include <cstdint>
#include <vector>

namespace dgm {

/// counts[c][k]: examples of class c (labels, int64 [N], -1 = unknown) that
/// were given k (predicted, int64 [N]): int64 [classes, predicted_classes].
torch::Tensor confusion_matrix(const torch::Tensor& labels, const torch::Tensor& predicted, int64_t classes,
                               int64_t predicted_classes);

/// The share of the labelled examples whose prediction is their class; NaN
/// when none is labelled.
double accuracy(const torch::Tensor& labels, const torch::Tensor& predicted);

struct ClusterMatch {
  /// The share of the labelled examples whose cluster is named by their
  /// class under the best one-to-one naming.
  double accuracy = 0.0;
  /// The class that names each cluster (-1: none, with more clusters than classes).
  std::vector<int64_t> class_of_cluster;
};

/// Cluster accuracy of `clusters` (int64 [N] in 0 .. cluster_count - 1)
/// against `labels` with `classes` values.
ClusterMatch cluster_accuracy(const torch::Tensor& labels, const torch::Tensor& clusters, int64_t classes,
                              int64_t cluster_count);

}  // namespace dgm
