#include "core/safetensors.h"

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <fmt/ranges.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <set>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/json_numbers.h"
#include "core/memory_budget.h"

namespace dgm {
namespace {

/// The format's own bound on the header (the reference implementation's).
constexpr uint64_t kMaxSafetensorsHeader = 100000000;

struct DtypeName {
  const char* name;
  torch::Dtype dtype;
};

constexpr DtypeName kDtypes[] = {{"F64", torch::kFloat64},   {"F32", torch::kFloat32}, {"F16", torch::kFloat16},
                                 {"BF16", torch::kBFloat16}, {"I64", torch::kInt64},   {"I32", torch::kInt32},
                                 {"I16", torch::kInt16},     {"I8", torch::kInt8},     {"U8", torch::kUInt8},
                                 {"BOOL", torch::kBool}};

torch::Dtype dtype_named(const std::string& name, const std::string& path, const std::string& tensor) {
  for (const auto& entry : kDtypes)
    if (name == entry.name) return entry.dtype;
  fail("{}: tensor '{}' has dtype '{}', which dgm does not read", path, tensor, name);
}

std::string name_of(torch::Dtype dtype) {
  for (const auto& entry : kDtypes)
    if (dtype == entry.dtype) return entry.name;
  fail("safetensors cannot store dtype {}", c10::toString(dtype));
}

}  // namespace

SafetensorsFile read_safetensors(const std::string& path) {
  std::error_code error;
  const uint64_t file_size = std::filesystem::file_size(path, error);
  if (error) fail("cannot read {}: {}", path, error.message());
  check_memory(file_size, fmt::format("reading {}", path), "raise --memory-limit");
  const std::string bytes = read_text_file(path);
  if (bytes.size() < 8)
    fail("{} is not a safetensors file: {} bytes, less than its 8-byte header length", path, bytes.size());
  uint64_t header_size = 0;
  for (int i = 7; i >= 0; --i) header_size = (header_size << 8) | static_cast<unsigned char>(bytes[i]);
  if (header_size > bytes.size() - 8)
    fail("{} is truncated or not a safetensors file: its header claims {} bytes, the file has {} after the length",
         path, header_size, bytes.size() - 8);
  if (header_size > kMaxSafetensorsHeader)
    fail("{} has a safetensors header of {} bytes, past the format's limit of {}", path, header_size,
         kMaxSafetensorsHeader);
  nlohmann::json header;
  try {
    // Names must be unique: a JSON object with a repeated key would keep
    // the last silently.
    std::set<std::string> names;
    header = nlohmann::json::parse(bytes.substr(8, header_size), [&](int depth, nlohmann::json::parse_event_t event,
                                                                     nlohmann::json& value) {
      if (depth == 1 && event == nlohmann::json::parse_event_t::key && !names.insert(value.get<std::string>()).second)
        fail("{}: the safetensors header names '{}' twice", path, value.get<std::string>());
      return true;
    });
  } catch (const nlohmann::json::exception& e) {
    fail("{} has a malformed safetensors header: {}", path, without_tag(e.what()));
  }
  if (!header.is_object()) fail("{} has a safetensors header that is not a JSON object", path);
  const std::size_t data_start = 8 + header_size;
  const std::size_t data_size = bytes.size() - data_start;
  SafetensorsFile file;
  std::vector<std::pair<uint64_t, uint64_t>> ranges;
  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") {
      for (const auto& [key, value] : entry.items())
        if (value.is_string()) file.metadata[key] = value.get<std::string>();
      continue;
    }
    try {
      const torch::Dtype dtype = dtype_named(entry.at("dtype").get<std::string>(), path, name);
      const std::string what = fmt::format("{}: tensor '{}': ", path, name);
      const auto shape = json_integer_list(entry.at("shape"), what + "shape", std::numeric_limits<int64_t>::min(),
                                           std::numeric_limits<int64_t>::max());
      std::vector<uint64_t> offsets;
      for (int64_t offset :
           json_integer_list(entry.at("data_offsets"), what + "data_offsets", 0, std::numeric_limits<int64_t>::max()))
        offsets.push_back(static_cast<uint64_t>(offset));
      if (offsets.size() != 2 || offsets[0] > offsets[1] || offsets[1] > data_size)
        fail("{}: tensor '{}' has byte range [{}, {}) outside the {} data bytes (truncated file?)", path, name,
             offsets.empty() ? 0 : offsets[0], offsets.size() < 2 ? 0 : offsets[1], data_size);
      // The shape's bytes, from the header alone, before any allocation.
      uint64_t expected = static_cast<uint64_t>(c10::elementSize(dtype));
      for (int64_t size : shape) {
        if (size < 0) fail("{}: tensor '{}' has a negative size {} in its shape", path, name, size);
        expected = saturating_product({expected, static_cast<uint64_t>(size)});
      }
      if (offsets[1] - offsets[0] != expected)
        fail("{}: tensor '{}' of shape [{}] needs {} bytes, its byte range holds {}", path, name,
             fmt::join(shape, ", "), expected, offsets[1] - offsets[0]);
      auto tensor = torch::empty(shape, torch::TensorOptions().dtype(dtype));
      if (expected > 0) std::memcpy(tensor.data_ptr(), bytes.data() + data_start + offsets[0], expected);
      file.tensors.emplace(name, tensor);
      ranges.emplace_back(offsets[0], offsets[1]);
    } catch (const nlohmann::json::exception& e) {
      fail("{}: the header entry of tensor '{}' is malformed: {}", path, name, without_tag(e.what()));
    }
  }
  // As the format requires: the ranges tile the data buffer, no overlap, no hole.
  std::sort(ranges.begin(), ranges.end());
  uint64_t covered = 0;
  for (const auto& [begin, end] : ranges) {
    if (begin < covered)
      fail("{}: two tensors share bytes [{}, {}) of the data buffer (overlapping ranges)", path, begin,
           std::min(end, covered));
    if (begin > covered) fail("{}: bytes [{}, {}) of the data buffer belong to no tensor", path, covered, begin);
    covered = end;
  }
  if (covered != data_size) fail("{}: bytes [{}, {}) of the data buffer belong to no tensor", path, covered, data_size);
  return file;
}

void write_safetensors(const std::string& path, const NamedTensors& tensors,
                       const std::map<std::string, std::string>& metadata) {
  nlohmann::json header = nlohmann::json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::string data;
  std::vector<torch::Tensor> contiguous;
  for (const auto& [name, tensor] : tensors) {
    auto cpu = tensor.detach().to(torch::kCPU).contiguous();
    const std::size_t begin = data.size();
    data.append(static_cast<const char*>(cpu.data_ptr()), cpu.numel() * cpu.element_size());
    header[name] = {
        {"dtype", name_of(cpu.scalar_type())}, {"shape", cpu.sizes().vec()}, {"data_offsets", {begin, data.size()}}};
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // the data starts 8-byte aligned
  std::string bytes(8, '\0');
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>((static_cast<uint64_t>(text.size()) >> (8 * i)) & 0xFF);
  write_text_atomically(path, bytes + text + data);
}

}  // namespace dgm
