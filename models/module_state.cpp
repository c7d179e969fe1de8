#include "models/module_state.h"

#include <torch/torch.h>

#include "core/error.h"

namespace dgm {

NamedTensors module_state(const torch::nn::Module& module) {
  NamedTensors state;
  for (const auto& item : module.named_parameters()) state.emplace_back(item.key(), item.value());
  for (const auto& item : module.named_buffers()) state.emplace_back(item.key(), item.value());
  return state;
}

void load_module_state(torch::nn::Module& module, const std::map<std::string, torch::Tensor>& state,
                       const std::string& source) {
  const NamedTensors expected = module_state(module);
  // Check everything before changing anything.
  for (const auto& [name, tensor] : expected) {
    auto found = state.find(name);
    if (found == state.end())
      fail("{} lacks the parameter '{}' (shape {}) that this model needs", source, name, c10::str(tensor.sizes()));
    if (found->second.sizes() != tensor.sizes())
      fail("{}: parameter '{}' has shape {}, this model expects {}", source, name, c10::str(found->second.sizes()),
           c10::str(tensor.sizes()));
  }
  for (const auto& [name, tensor] : state) {
    bool known = false;
    for (const auto& entry : expected) known = known || entry.first == name;
    if (!known)
      fail("{} has the parameter '{}' (shape {}), which this model does not have", source, name,
           c10::str(tensor.sizes()));
  }
  torch::NoGradGuard no_grad;
  for (const auto& [name, tensor] : expected) {
    auto target = tensor;  // shares storage with the module's tensor
    target.copy_(state.at(name));
  }
}

}  // namespace dgm
