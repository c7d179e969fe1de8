#pragma once
// State dicts saved from Python with torch.save: what a PyTorch user has after
// training, `torch.save(model.state_dict(), "model.pt")` (an OrderedDict), a
// plain dict, a `pytorch_model.bin`, or a checkpoint dict holding the state
// dict under a key. Read without LibTorch's unpickler: the archive's records
// by hand (sizes checked against the file and the memory limit, CRC-32
// compared) and its pickle by dgm's strict reader (core/pickle_reader.h),
// which accepts only dicts, tensors and plain values.

#include <string>

#include "core/safetensors.h"

namespace dgm {

/// True when `path` starts like a zip archive (torch.save's format since PyTorch 1.6).
bool looks_like_torch_save(const std::string& path);

/// The tensors of a state dict in their saved order, on the CPU, each
/// contiguous and of its stored dtype (shared or strided storages are
/// copied out). With `key`, the state dict is the top-level dict's entry of
/// that name (a checkpoint: --key model_state_dict). A legacy (non-zip)
/// file, a value that is not a tensor, a pickle outside the allowed
/// language, a tensor outside its storage or a damaged file is a dgm::Error
/// that names the file and says what to do.
NamedTensors read_torch_state_dict(const std::string& path, const std::string& key = "");

}  // namespace dgm
