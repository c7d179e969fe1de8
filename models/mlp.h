#pragma once
// A multilayer perceptron: Linear layers with an activation between them and
// none after the last, so the output is unconstrained (logits, means, log-variances).

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include <vector>

#include "core/options.h"

namespace dgm {

/// The nonlinearity between layers.
enum class Activation { kRelu, kTanh, kElu, kLeakyRelu, kSoftplus, kGelu };
DGM_ENUM_NAMES(Activation, "activation", {Activation::kRelu, "relu"}, {Activation::kTanh, "tanh"},
               {Activation::kElu, "elu"}, {Activation::kLeakyRelu, "leaky_relu"}, {Activation::kSoftplus, "softplus"},
               {Activation::kGelu, "gelu"});

using ActivationFunction = torch::Tensor (*)(const torch::Tensor&);

/// The function of an activation (leaky_relu: slope 0.01).
ActivationFunction activation_function(Activation activation);

struct MlpOptions {
  MlpOptions(int64_t in_features, std::vector<int64_t> hidden, int64_t out_features)
      : in_features_(in_features), hidden_(std::move(hidden)), out_features_(out_features) {}
  TORCH_ARG(int64_t, in_features);
  TORCH_ARG(std::vector<int64_t>, hidden);
  TORCH_ARG(int64_t, out_features);
  /// Default: relu.
  TORCH_ARG(Activation, activation) = Activation::kRelu;
};

class MlpImpl : public torch::nn::Module {
 public:
  explicit MlpImpl(const MlpOptions& options);
  /// [..., in_features] -> [..., out_features].
  torch::Tensor forward(torch::Tensor x);
  /// forward(cat(x, one_hot(y, classes))) for an MLP whose input is x [B, F]
  /// followed by a one-hot class code (in_features = F + classes), for y
  /// int64 [..., B] of any leading shape: [..., B, out_features]. The first
  /// layer's x part is applied once per example, not once per class, and the
  /// class part is a column of its weight: M2's q(w | x, y) for all K classes
  /// costs one product with x instead of K.
  torch::Tensor forward_with_classes(const torch::Tensor& x, const torch::Tensor& y, int64_t classes);
  const MlpOptions& options() const { return options_; }
  /// The last layer's bias [out_features].
  torch::Tensor& output_bias() { return linears_.back()->bias; }

 private:
  MlpOptions options_;
  /// The layers after the first, on the first one's output.
  torch::Tensor forward_after_first(torch::Tensor h);
  torch::nn::ModuleList layers_;
  std::vector<torch::nn::Linear> linears_;  // the same layers, without a cast per call
  ActivationFunction activation_;
};
TORCH_MODULE(Mlp);

}  // namespace dgm
