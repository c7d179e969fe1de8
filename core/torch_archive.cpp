#include "core/torch_archive.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "core/error.h"
#include "core/memory_budget.h"
#include "core/pickle_reader.h"

namespace dgm {

TorchArchive::TorchArchive(const std::string& path) : zip_(path) {
  for (const auto& name : zip_.names()) {
    // Every record is ARCHIVE/...; ARCHIVE/data.pkl is the pickle.
    const auto slash = name.find('/');
    if (slash != std::string::npos && name.compare(slash, std::string::npos, "/data.pkl") == 0 && prefix_.empty())
      prefix_ = name.substr(0, slash + 1);
    if (slash != std::string::npos && name.compare(slash, std::string::npos, "/constants.pkl") == 0)
      torchscript_ = true;
  }
  if (prefix_.empty()) fail("{} is a zip archive without the data.pkl of torch.save: not a torch.save file", path);
}

std::vector<std::string> TorchArchive::records() const {
  std::vector<std::string> out;
  for (const auto& name : zip_.names())
    if (name.compare(0, prefix_.size(), prefix_) == 0) out.push_back(name.substr(prefix_.size()));
  return out;
}

const ZipEntry& TorchArchive::entry(const std::string& record) const {
  return zip_.entry(prefix_ + record, "that its pickle names");
}

uint64_t TorchArchive::size_of(const std::string& record) const { return entry(record).size; }

std::string TorchArchive::read(const std::string& record, uint64_t limit, const char* what) {
  entry(record);
  return zip_.read(prefix_ + record, limit, what);
}

void TorchArchive::check_crc(const std::string& record) {
  entry(record);
  zip_.check_crc(prefix_ + record);
}

namespace {

/// Every tensor below `object` against its storage record's size. The
/// reader sealed each container when it was placed, so this walk over a
/// DAG of bounded depth ends; `seen` visits a shared object once.
void check_tensors(const PickleObject& object, TorchArchive& archive, std::vector<const PickleObject*>& stack) {
  stack.assign(1, &object);
  std::map<const PickleObject*, bool> seen;
  while (!stack.empty()) {
    const PickleObject* current = stack.back();
    stack.pop_back();
    if (!seen.emplace(current, true).second) continue;
    if (current->kind == PickleObject::Kind::kTensor) {
      const PickleStorage& storage = *current->tensor.storage;
      const uint64_t needed = saturating_product(
          {static_cast<uint64_t>(storage.numel), static_cast<uint64_t>(c10::elementSize(storage.dtype))});
      const uint64_t held = archive.size_of("data/" + storage.key);
      if (held < needed)
        fail("{}: storage {} holds {} bytes, where its {} elements of {} need {}", archive.path(), storage.key, held,
             storage.numel, c10::toString(storage.dtype), needed);
    }
    for (const auto& item : current->items) stack.push_back(item.get());
  }
}

}  // namespace

void check_torchscript_archive(const std::string& path) {
  TorchArchive archive(path);
  std::vector<const PickleObject*> stack;
  for (const std::string& record : archive.records()) {
    auto ends_with = [&](const std::string& suffix) {
      return record.size() >= suffix.size() &&
             record.compare(record.size() - suffix.size(), suffix.size(), suffix) == 0;
    };
    if (!ends_with(".pkl") && !ends_with(".debug_pkl")) {
      archive.check_crc(record);  // tensor data and code: their bytes as written
      continue;
    }
    const std::string bytes = archive.read(record, uint64_t{1} << 30, "a pickle");
    PickleRef root = read_pickle(bytes, path + " (" + record + ")", PickleDialect::kTorchScript);
    check_tensors(*root, archive, stack);
  }
}

}  // namespace dgm
