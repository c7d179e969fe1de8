#include "core/torch_state_dict.h"

#include <caffe2/serialize/inline_container.h>
#include <torch/csrc/jit/serialization/pickle.h>
#include <torch/torch.h>

#include <fstream>
#include <iterator>

#include "core/error.h"

namespace dgm {
namespace {

const char* const kResave = "re-save it in Python as a plain dict: torch.save(dict(model.state_dict()), PATH)";

std::vector<char> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("cannot open {}", path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

/// The pickle's first object: an OrderedDict is built by the GLOBAL opcode
/// "c collections OrderedDict" right after the protocol header; a dict
/// starts with EMPTY_DICT.
bool pickles_an_ordered_dict(const std::string& path) {
  caffe2::serialize::PyTorchStreamReader reader(path);
  if (!reader.hasRecord("data.pkl")) return false;
  auto [data, size] = reader.getRecord("data.pkl");
  const std::string head(static_cast<const char*>(data.get()), std::min<size_t>(size, 40));
  return head.find("ccollections\nOrderedDict\n") != std::string::npos && head.find("ccollections") <= 2;
}

}  // namespace

bool looks_like_torch_save(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char magic[4] = {};
  in.read(magic, 4);
  return in.gcount() == 4 && magic[0] == 'P' && magic[1] == 'K' && magic[2] == 3 && magic[3] == 4;
}

NamedTensors read_torch_state_dict(const std::string& path) {
  if (!looks_like_torch_save(path))
    fail("{} is not a torch.save file (a zip archive; PyTorch's legacy format from before 1.6 is not read): {}", path,
         kResave);
  try {
    if (pickles_an_ordered_dict(path))
      fail("{} holds an OrderedDict (what model.state_dict() returns), which LibTorch cannot unpickle: {}", path,
           kResave);
  } catch (const c10::Error& e) {
    fail("{} is damaged or not a torch.save file: {}", path, first_line(e.what()));
  }
  torch::IValue loaded;
  try {
    loaded = torch::pickle_load(read_bytes(path));
  } catch (const c10::Error& e) {
    fail("{} could not be read as a dict of tensors: {}; {}", path, first_line(e.what()), kResave);
  }
  if (!loaded.isGenericDict()) fail("{} holds a {}, not a dict of tensors: {}", path, loaded.tagKind(), kResave);
  NamedTensors tensors;
  for (const auto& entry : loaded.toGenericDict()) {
    if (!entry.key().isString())
      fail("{}: a key of type {} where parameter names are expected", path, entry.key().tagKind());
    const std::string name = entry.key().toStringRef();
    if (!entry.value().isTensor())
      fail("{}: '{}' is a {}, not a tensor; save only the model's state dict: {}", path, name, entry.value().tagKind(),
           kResave);
    tensors.emplace_back(name, entry.value().toTensor().cpu());
  }
  if (tensors.empty()) fail("{} holds an empty dict: no parameters to load", path);
  return tensors;
}

}  // namespace dgm
