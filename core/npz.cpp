#include "core/npz.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <limits>

#include "core/data_sources.h"
#include "core/error.h"
#include "core/memory_budget.h"
#include "core/npy.h"
#include "core/zip_archive.h"

namespace dgm {
namespace {

constexpr const char* kSuffix = ".npy";

std::vector<std::string> keys_of(const ZipArchive& archive) {
  std::vector<std::string> keys;
  for (const auto& name : archive.names())
    if (ends_with(name, kSuffix)) keys.push_back(name.substr(0, name.size() - 4));
  return keys;
}

}  // namespace

std::vector<std::string> npz_keys(const std::string& path) { return keys_of(ZipArchive(path)); }

torch::Tensor read_npz(const std::string& path, const std::string& key, const std::string& key_option) {
  ZipArchive archive(path);
  const auto keys = keys_of(archive);
  if (keys.empty()) fail("{} is a zip archive without .npy records: not an .npz file that np.savez wrote", path);
  std::string chosen = key;
  if (chosen.empty()) {
    if (keys.size() > 1)
      fail("{} holds {} arrays ({}): say which one is the data with {}", path, keys.size(), fmt::join(keys, ", "),
           key_option);
    chosen = keys.front();
  }
  const std::string record = chosen + kSuffix;
  if (archive.find(record) == nullptr)
    fail("{} holds no array '{}' ({}); its arrays: {}", path, chosen, key_option, fmt::join(keys, ", "));
  // The record's bytes and the tensor made from them are held at once.
  const ZipEntry& entry = *archive.find(record);
  check_memory(saturating_product({entry.size, 2}) + entry.compressed_size,
               fmt::format("{}'s array '{}'", path, chosen), "raise --memory-limit");
  const std::string bytes = archive.read(record, std::numeric_limits<uint64_t>::max(), "an array");
  return parse_npy(bytes, fmt::format("{} (array '{}')", path, chosen));
}

}  // namespace dgm
