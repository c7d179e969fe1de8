#include "models/foreign_weights.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/torch.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>

#include "core/error.h"
#include "core/torch_state_dict.h"
#include "models/module_state.h"

namespace dgm {
namespace {

/// The first bytes of `path` (fewer when the file is shorter).
std::string first_bytes(const std::string& path, std::size_t n) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("cannot open {}: {}", path, std::strerror(errno));
  std::string bytes(n, '\0');
  in.read(bytes.data(), static_cast<std::streamsize>(n));
  bytes.resize(static_cast<std::size_t>(in.gcount()));
  return bytes;
}

/// "50 4b 03 04": bytes as a person compares them with a format's magic.
std::string hex_of(const std::string& bytes) {
  std::string out;
  for (unsigned char byte : bytes) out += fmt::format("{}{:02x}", out.empty() ? "" : " ", byte);
  return out;
}

/// A safetensors file opens with its header's length (8 bytes, little
/// endian) and the header's '{'.
bool looks_like_safetensors(const std::string& bytes) { return bytes.size() >= 9 && bytes[8] == '{'; }

/// PyTorch's format before 1.6 is a bare pickle: PROTO (0x80) first.
bool looks_like_legacy_torch_save(const std::string& bytes) {
  return bytes.size() >= 2 && static_cast<unsigned char>(bytes[0]) == 0x80;
}

std::string shape_of(const torch::Tensor& t) { return fmt::format("[{}]", fmt::join(t.sizes(), ", ")); }

NamedTensors renamed(const NamedTensors& foreign, const std::vector<std::string>& renames) {
  std::vector<std::pair<std::string, std::string>> rules;
  for (const auto& rule : renames) {
    const auto eq = rule.find('=');
    if (eq == std::string::npos || eq == 0) fail("--rename {}: write OLD=NEW, e.g. fc1.=encoder.layers.0.", rule);
    rules.emplace_back(rule.substr(0, eq), rule.substr(eq + 1));
  }
  NamedTensors out;
  for (auto [name, tensor] : foreign) {
    for (const auto& [old_prefix, new_prefix] : rules)
      if (name.rfind(old_prefix, 0) == 0) {
        name = new_prefix + name.substr(old_prefix.size());
        break;
      }
    out.emplace_back(name, tensor);
  }
  return out;
}

}  // namespace

MappedState map_foreign_state(const torch::nn::Module& module, const NamedTensors& foreign_in,
                              const std::vector<std::string>& renames, const std::string& source) {
  const NamedTensors foreign = renamed(foreign_in, renames);
  // Submodules' tensors first (encoder, decoder, ...), then the model's own
  // (e.g. a Gaussian decoder's log_variance), as a Python model would list them.
  NamedTensors targets = module_state(module);
  std::stable_partition(targets.begin(), targets.end(),
                        [](const auto& item) { return item.first.find('.') != std::string::npos; });
  MappedState mapped;
  std::set<std::string> names;
  for (const auto& [name, tensor] : foreign) names.insert(name);
  bool all_named = true;
  for (const auto& [name, tensor] : targets) all_named = all_named && names.count(name) > 0;
  if (all_named) {
    for (const auto& [name, tensor] : foreign) mapped.state[name] = tensor;
    for (const auto& [name, tensor] : targets)
      mapped.lines.push_back(fmt::format("{} {} <- {}", name, shape_of(tensor), name));
    return mapped;
  }
  mapped.by_order = true;
  std::vector<bool> used(foreign.size(), false);
  std::size_t next = 0;
  auto describe_targets = [&] {
    std::string list;
    for (const auto& [name, tensor] : targets) list += fmt::format("\n  {} {}", name, shape_of(tensor));
    return list;
  };
  for (const auto& [name, target] : targets) {
    while (next < foreign.size() && used[next]) ++next;
    if (next == foreign.size())
      fail(
          "{} has too few tensors: nothing is left for the model's '{}' {} (matched by order, as the names differ). "
          "The model's tensors in order:{}",
          source, name, shape_of(target), describe_targets());
    const auto& [first_name, first] = foreign[next];
    if (first.sizes() == target.sizes()) {
      used[next] = true;
      mapped.state[name] = first;
      mapped.lines.push_back(fmt::format("{} {} <- {}", name, shape_of(target), first_name));
      continue;
    }
    const bool half = first.dim() == target.dim() && first.dim() >= 1 && 2 * first.size(0) == target.size(0) &&
                      first.sizes().slice(1) == target.sizes().slice(1);
    std::size_t partner = next + 1;
    while (half && partner < foreign.size() && (used[partner] || foreign[partner].second.sizes() != first.sizes()))
      ++partner;
    if (!half || partner == foreign.size())
      fail(
          "{}: the model's '{}' is {}, but the next tensor of the file by order, '{}', is {} (the names differ, so "
          "order decides): the architectures differ. Check model.* of the config, or name the tensors with --rename "
          "OLD=NEW. The model's tensors in order:{}",
          source, name, shape_of(target), first_name, shape_of(first), describe_targets());
    used[next] = used[partner] = true;
    mapped.state[name] = torch::cat({first, foreign[partner].second}, 0);
    mapped.lines.push_back(fmt::format("{} {} <- {} + {}", name, shape_of(target), first_name, foreign[partner].first));
  }
  for (std::size_t i = 0; i < foreign.size(); ++i)
    if (!used[i])
      fail(
          "{} has a tensor the model lacks: '{}' {} (matched by order, as the names differ); check model.* of the "
          "config",
          source, foreign[i].first, shape_of(foreign[i].second));
  return mapped;
}

std::vector<std::string> non_finite_warnings(const NamedTensors& tensors, const std::string& source) {
  std::vector<std::string> warnings;
  for (const auto& [name, tensor] : tensors) {
    if (!tensor.is_floating_point() || tensor.numel() == 0) continue;
    const auto as_double = tensor.to(torch::kFloat64);
    const int64_t nan = as_double.isnan().sum().item<int64_t>();
    const int64_t infinite = as_double.isinf().sum().item<int64_t>();
    if (nan + infinite == 0) continue;
    warnings.push_back(fmt::format(
        "warning: {}: tensor '{}' {} holds {} NaN and {} infinite values of {}; the model's results where it acts "
        "will be NaN (was the model saved after its training diverged?)",
        source, name, shape_of(tensor), nan, infinite, tensor.numel()));
  }
  return warnings;
}

LoadedWeights load_foreign_weights(torch::nn::Module& module, const std::string& path,
                                   const std::vector<std::string>& renames, const std::string& key) {
  NamedTensors foreign;
  const std::string head = first_bytes(path, 9);
  // A safetensors header length whose low byte is 0x80 opens like a legacy
  // pickle (0x80 = PROTO): the JSON brace at byte 8 tells them apart.
  if (looks_like_torch_save(path) || (looks_like_legacy_torch_save(head) && !looks_like_safetensors(head))) {
    foreign = read_torch_state_dict(path, key);  // the legacy format gets its own message there
  } else if (!looks_like_safetensors(head)) {
    fail(
        "{} is neither a torch.save file (a zip archive) nor a safetensors file (its first bytes are {}); save the "
        "weights with torch.save(model.state_dict(), PATH) or safetensors' save_file",
        path, head.empty() ? "none: it is empty" : hex_of(head.substr(0, 4)));
  } else {
    if (!key.empty())
      fail("--key {}: {} is a safetensors file, which holds tensors only (no dict to choose from)", key, path);
    auto file = read_safetensors(path);  // sorted by name: order-based matching needs a torch.save file
    foreign.assign(file.tensors.begin(), file.tensors.end());
  }
  MappedState mapped = map_foreign_state(module, foreign, renames, path);
  load_module_state(module, mapped.state, path);
  return {mapped.lines, non_finite_warnings(foreign, path)};
}

}  // namespace dgm
