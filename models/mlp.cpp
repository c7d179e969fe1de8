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

/// `leading` with `last` appended.
std::vector<int64_t> with_last(torch::IntArrayRef leading, int64_t last) {
  std::vector<int64_t> shape(leading.begin(), leading.end());
  shape.push_back(last);
  return shape;
}

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

torch::Tensor MlpImpl::forward(torch::Tensor x) { return forward_after_first(linears_.front()->forward(x)); }

torch::Tensor MlpImpl::forward_after_first(torch::Tensor h) {
  for (std::size_t i = 1; i < linears_.size(); ++i) h = linears_[i]->forward(activation_(h));
  return h;
}

torch::Tensor MlpImpl::forward_with_classes(const torch::Tensor& x, const torch::Tensor& y, int64_t classes) {
  const int64_t features = options_.in_features() - classes;
  TORCH_CHECK(features >= 0 && x.dim() == 2 && x.size(1) == features && y.size(-1) == x.size(0),
              "forward_with_classes: x [B, ", features, "] and y [..., B] for an MLP of ", options_.in_features(),
              " inputs and ", classes, " classes, got x ", x.sizes(), " and y ", y.sizes());
  const auto& first = linears_.front();
  auto from_x = torch::nn::functional::linear(x, first->weight.narrow(1, 0, features), first->bias);  // [B, H]
  auto class_columns = first->weight.narrow(1, features, classes).t();                                // [K, H]
  return forward_after_first(from_x + class_columns.index_select(0, y.flatten()).view(with_last(y.sizes(), -1)));
}

}  // namespace dgm
