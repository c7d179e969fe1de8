#pragma once
// A module's state (parameters and buffers) as named tensors, and loading such
// a state back with every mismatch named: how weights travel through
// safetensors files.

#include <torch/nn/module.h>

#include <map>
#include <string>

#include "core/safetensors.h"

namespace dgm {

/// Parameters then buffers, under the names named_parameters() gives them.
NamedTensors module_state(const torch::nn::Module& module);

/// Copies `state` into the module's parameters and buffers (converted to
/// their dtype and device). A missing or extra name, or a shape that differs,
/// is a dgm::Error naming the tensor, `source`, and the expected and found
/// shapes; nothing is changed then.
void load_module_state(torch::nn::Module& module, const std::map<std::string, torch::Tensor>& state,
                       const std::string& source);

}  // namespace dgm
