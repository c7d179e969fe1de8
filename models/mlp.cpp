#include "models/mlp.h"

#include <torch/torch.h>

#include "core/error.h"

namespace dgm {
namespace {

torch::Tensor relu(const torch::Tensor& x) { return torch::relu(x); }
torch::Tensor tanh_(const torch::Tensor& x) { return torch::tanh(x); }
torch::Tensor elu(const torch::Tensor& x) { return torch::elu(x); }
torch::Tensor leaky_relu(const torch::Tensor& x) { return torch::leaky_relu(x, 0.01); }
torch::Tensor softplus(const torch::Tensor& x) { return torch::softplus(x); }
torch::Tensor gelu(const torch::Tensor& x) { return torch::gelu(x); }

}  // namespace

Activation activation_named(const std::string& name) {
  if (name == "relu") return relu;
  if (name == "tanh") return tanh_;
  if (name == "elu") return elu;
  if (name == "leaky_relu") return leaky_relu;
  if (name == "softplus") return softplus;
  if (name == "gelu") return gelu;
  fail("unknown activation '{}': use relu, tanh, elu, leaky_relu, softplus or gelu", name);
}

MlpImpl::MlpImpl(const MlpOptions& options) : options_(options), activation_(activation_named(options.activation())) {
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
