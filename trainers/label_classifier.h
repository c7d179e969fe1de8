#pragma once
// The baseline a semi-supervised model has to beat: a classifier trained on
// the labelled examples alone, by Adam on the cross-entropy. With the same
// network as M2's q(y | x) (by default the paper's one hidden layer of 500
// softplus units) it tells what the unlabelled examples added.

#include <torch/types.h>

#include <cstdint>
#include <vector>

#include "models/mlp.h"

namespace dgm {

struct LabelClassifierOptions {
  /// Hidden widths. Default: {500}.
  std::vector<int64_t> hidden{500};
  /// Default: softplus (M2's).
  Activation activation = Activation::kSoftplus;
  /// Adam steps on mini-batches of the labelled examples. Default: 2000.
  int64_t steps = 2000;
  /// Default: 100 (all of them when fewer are labelled).
  int64_t batch_size = 100;
  /// Default: 1e-3.
  double lr = 1e-3;
  /// Fixes the initial weights and the batches. Default: 0.
  uint64_t seed = 0;
};

/// An MLP x [N, D] -> logits [N, classes] trained on the rows whose label
/// (int64 [N]) is a class; rows labelled -1 are left out. No labelled row is
/// a dgm::Error.
Mlp train_label_classifier(const torch::Tensor& x, const torch::Tensor& labels, int64_t classes,
                           const LabelClassifierOptions& options = {});

}  // namespace dgm
