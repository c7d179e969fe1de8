#include "models/mlp.h"

#include <torch/torch.h>

namespace dgm {
namespace {

torch::Tensor relu(const torch::Tensor& x) { return torch::relu(x); }
torch::Tensor tanh_(const torch::Tensor& x) { return torch::tanh(x); }
torch::Tensor elu(const torch::Tensor& x) { return torch::elu(x); }
torch::Tensor leaky_relu(const torch::Tensor& x) { return torch::leaky_relu(x, 0.01); }
torch::Tensor softplus(const torch::Tensor& x) { return torch::softplus(x); }
torch::Tensor gelu(const torch::Tensor& x) { return torch::gelu(x); }

}  // namespace

ActivationFunction activation_function(Activation activation) {
  switch (activation) {
    case Activation::kRelu:
      return relu;
    case Activation::kTanh:
      return tanh_;
    case Activation::kElu:
      return elu;
    case Activation::kLeakyRelu:
      return leaky_relu;
    case Activation::kSoftplus:
      return softplus;
    case Activation::kGelu:
      return gelu;
  }
  return relu;
}

MlpImpl::MlpImpl(const MlpOptions& options)
    : options_(options), activation_(activation_function(options.activation())) {
  layers_ = register_module("layers", torch::nn::ModuleList());
  int64_t width = options.in_features();
  for (int64_t next : options.hidden()) {
    linears_.emplace_back(width, next);
    width = next;
  }
  linears_.emplace_back(width, options.out_features());
  for (auto& linear : linears_) layers_->push_back(linear);
}

torch::Tensor MlpImpl::forward(torch::Tensor x) {
  const auto last = linears_.size() - 1;
  for (std::size_t i = 0; i < linears_.size(); ++i) {
    x = linears_[i]->forward(x);
    if (i < last) x = activation_(x);
  }
  return x;
}

}  // namespace dgm
