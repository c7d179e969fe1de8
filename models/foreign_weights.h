#pragma once
// Weights from elsewhere into a native model: a safetensors file (names as
// `dgm export` writes them) or a Python state dict saved with
// torch.save(model.state_dict(), PATH) (core/torch_state_dict.h).
//
// The name mapping, in this order:
//   1. --rename OLD=NEW rewrites every name that starts with OLD (e.g.
//      "fc1.=encoder.layers.0.").
//   2. When the file holds every one of the model's names, names decide.
//   3. Otherwise order decides: the model's tensors (its submodules' in
//      registration order: encoder layers, decoder layers; then its own, such
//      as a Gaussian decoder's log_variance)
//      take the file's tensors in their saved order, each shape checked. A
//      model tensor of twice the rows of the next file tensor takes that one
//      and the next unused one of the same shape, stacked: PyTorch's VAE
//      example keeps the encoder's mu and logvar heads apart (fc21, fc22),
//      where dgm has one layer that outputs [mu, logvar]. (A safetensors
//      file keeps no order: its names are sorted, so use names or --rename.)
// Every mismatch is a dgm::Error naming both tensors and shapes.

#include <torch/nn/module.h>

#include <map>
#include <string>
#include <vector>

#include "core/safetensors.h"

namespace dgm {

struct MappedState {
  std::map<std::string, torch::Tensor> state;
  /// One line per model tensor: "encoder.layers.1.weight [8, 16] <- fc21.weight + fc22.weight".
  std::vector<std::string> lines;
  bool by_order = false;
};

/// Maps `foreign` (from `source`) onto the module's state names by the rules above.
MappedState map_foreign_state(const torch::nn::Module& module, const NamedTensors& foreign,
                              const std::vector<std::string>& renames, const std::string& source);

/// What load_foreign_weights did.
struct LoadedWeights {
  std::vector<std::string> lines;  ///< the mapping, as MappedState::lines
  /// One per floating-point tensor of the file holding NaN or infinite
  /// values, naming it: such weights load (a user may mean them), but the
  /// model's results where they act are NaN, so a program prints these.
  std::vector<std::string> warnings;
};

/// The warnings of LoadedWeights for the tensors of `source`.
std::vector<std::string> non_finite_warnings(const NamedTensors& tensors, const std::string& source);

/// Reads `path` (safetensors or torch.save, told apart by their first bytes),
/// maps it and loads it into the module. With `key`, a torch.save file's
/// state dict is its top-level dict's entry of that name (a checkpoint dict).
LoadedWeights load_foreign_weights(torch::nn::Module& module, const std::string& path,
                                   const std::vector<std::string>& renames = {}, const std::string& key = "");

}  // namespace dgm
