#include "core/torch_state_dict.h"

#include <torch/torch.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <set>

#include "core/error.h"
#include "core/memory_budget.h"
#include "core/pickle_reader.h"
#include "core/torch_archive.h"

namespace dgm {
namespace {

using Kind = PickleObject::Kind;

/// The tensor a record describes, as a contiguous CPU tensor of its own.
torch::Tensor materialize(const PickleTensor& record, TorchArchive& archive,
                          std::map<std::string, torch::Tensor>& storages) {
  const PickleStorage& storage = *record.storage;
  auto found = storages.find(storage.key);
  if (found == storages.end()) {
    const auto element = static_cast<uint64_t>(c10::elementSize(storage.dtype));
    const uint64_t expected = saturating_product({static_cast<uint64_t>(storage.numel), element});
    std::string bytes = archive.read("data/" + storage.key, expected, "its storage");
    if (bytes.size() != expected)
      fail("{}: storage {} holds {} bytes, where its {} elements of {} need {}", archive.path(), storage.key,
           bytes.size(), storage.numel, c10::toString(storage.dtype), expected);
    auto flat = torch::empty({storage.numel}, torch::TensorOptions().dtype(storage.dtype));
    if (expected > 0) std::memcpy(flat.data_ptr(), bytes.data(), expected);
    found = storages.emplace(storage.key, flat).first;
  } else if (found->second.scalar_type() != storage.dtype || found->second.numel() != storage.numel) {
    fail("{}: storage {} is named twice with different types or sizes", archive.path(), storage.key);
  }
  // The view was checked against the storage by the pickle reader.
  return found->second.as_strided(record.size, record.stride, record.offset).clone(at::MemoryFormat::Contiguous);
}

std::string keys_of(const PickleObject& dict) {
  std::string out;
  for (std::size_t i = 0; i < dict.items.size() && i < 40; i += 2)
    if (dict.items[i]->kind == Kind::kString)
      out += (out.empty() ? "" : ", ") + dict.items[i]->text + " (" + dict.items[i + 1]->kind_name() + ")";
  return out;
}

}  // namespace

bool looks_like_torch_save(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char magic[4] = {};
  in.read(magic, 4);
  return in.gcount() == 4 && magic[0] == 'P' && magic[1] == 'K' && magic[2] == 3 && magic[3] == 4;
}

NamedTensors read_torch_state_dict(const std::string& path, const std::string& key) {
  if (!looks_like_torch_save(path))
    fail(
        "{} is not a torch.save file (a zip archive; PyTorch's legacy format from before 1.6 is not read): re-save "
        "it with a current PyTorch, torch.save(model.state_dict(), PATH)",
        path);
  TorchArchive archive(path);
  if (archive.is_torchscript())
    fail("{} is a TorchScript archive, not a state dict: load it with --encoder/--decoder", path);
  const std::string pickle = archive.read("data.pkl", uint64_t{1} << 30, "a pickle");
  PickleRef root = read_pickle(pickle, path);
  if (root->kind != Kind::kDict) fail("{} holds a {}, not a dict of tensors", path, root->kind_name());
  const PickleObject* dict = root.get();
  if (!key.empty()) {
    dict = nullptr;
    for (std::size_t i = 0; i < root->items.size(); i += 2)
      if (root->items[i]->kind == Kind::kString && root->items[i]->text == key) dict = root->items[i + 1].get();
    if (dict == nullptr) fail("{} has no entry '{}' (--key); its entries: {}", path, key, keys_of(*root));
    if (dict->kind != Kind::kDict)
      fail("{}: '{}' (--key) is a {}, not a dict of tensors", path, key, dict->kind_name());
  }
  NamedTensors tensors;
  std::set<std::string> names;
  std::map<std::string, torch::Tensor> storages;
  for (std::size_t i = 0; i < dict->items.size(); i += 2) {
    const PickleObject& name = *dict->items[i];
    const PickleObject& value = *dict->items[i + 1];
    if (name.kind != Kind::kString)
      fail("{}: a key of type {} where parameter names are expected", path, name.kind_name());
    if (value.kind != Kind::kTensor) {
      fail(
          "{}: '{}' is a {}, not a tensor; a checkpoint dict? name the entry that holds the state dict with --key "
          "(the entries: {})",
          path, name.text, value.kind_name(), keys_of(*dict));
    }
    if (!names.insert(name.text).second) fail("{}: the name '{}' appears twice", path, name.text);
    tensors.emplace_back(name.text, materialize(value.tensor, archive, storages));
  }
  if (tensors.empty()) fail("{} holds an empty dict: no parameters to load", path);
  return tensors;
}

}  // namespace dgm
