#pragma once
// A multilayer perceptron: Linear layers with an activation between them and
// none after the last, so the output is unconstrained (logits, means, log-variances).

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include <string>
#include <vector>

namespace dgm {

using Activation = torch::Tensor (*)(const torch::Tensor&);

/// relu, tanh, elu, leaky_relu, softplus or gelu; another name is a dgm::Error.
Activation activation_named(const std::string& name);

struct MlpOptions {
  MlpOptions(int64_t in_features, std::vector<int64_t> hidden, int64_t out_features)
      : in_features_(in_features), hidden_(std::move(hidden)), out_features_(out_features) {}
  TORCH_ARG(int64_t, in_features);
  TORCH_ARG(std::vector<int64_t>, hidden);
  TORCH_ARG(int64_t, out_features);
  /// relu, tanh, elu, leaky_relu, softplus or gelu. Default: relu.
  TORCH_ARG(std::string, activation) = "relu";
};

class MlpImpl : public torch::nn::Module {
 public:
  explicit MlpImpl(const MlpOptions& options);
  /// [..., in_features] -> [..., out_features].
  torch::Tensor forward(torch::Tensor x);
  const MlpOptions& options() const { return options_; }
  /// The last layer's bias [out_features].
  torch::Tensor& output_bias() { return linears_.back()->bias; }

 private:
  MlpOptions options_;
  torch::nn::ModuleList layers_;
  std::vector<torch::nn::Linear> linears_;  // the same layers, without a cast per call
  torch::Tensor (*activation_)(const torch::Tensor&);
};
TORCH_MODULE(Mlp);

}  // namespace dgm
