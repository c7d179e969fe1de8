#pragma once
// State dicts saved from Python with torch.save: what a PyTorch user has after
// training. LibTorch's unpickler reads a plain dict of tensors,
//   torch.save(dict(model.state_dict()), "model.pt"),
// but not the OrderedDict that model.state_dict() itself is; that case is
// detected and the error says how to re-save the file.

#include <string>

#include "core/safetensors.h"

namespace dgm {

/// True when `path` starts like a zip archive (torch.save's format since PyTorch 1.6).
bool looks_like_torch_save(const std::string& path);

/// The tensors of a dict-of-tensors file in their saved order, on the CPU.
/// An OrderedDict, a legacy (non-zip) file, a value that is not a tensor, or a
/// damaged file is a dgm::Error that names the file and says what to do.
NamedTensors read_torch_state_dict(const std::string& path);

}  // namespace dgm
