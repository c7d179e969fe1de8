#include "core/torch_archive.h"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "core/error.h"
#include "core/memory_budget.h"
#include "core/pickle_reader.h"

namespace dgm {

TorchArchive::TorchArchive(const std::string& path) : path_(path), in_(path, std::ios::binary) {
  if (!in_) fail("cannot open {}: {}", path, std::strerror(errno));
  for (auto& entry : read_zip_directory(path)) {
    const std::string& name = entry.name;
    // Every record is ARCHIVE/...; ARCHIVE/data.pkl is the pickle.
    const auto slash = name.find('/');
    if (slash != std::string::npos && name.compare(slash, std::string::npos, "/data.pkl") == 0 && prefix_.empty())
      prefix_ = name.substr(0, slash + 1);
    if (slash != std::string::npos && name.compare(slash, std::string::npos, "/constants.pkl") == 0)
      torchscript_ = true;
    entries_.emplace(name, std::move(entry));
  }
  if (prefix_.empty()) fail("{} is a zip archive without the data.pkl of torch.save: not a torch.save file", path);
}

std::vector<std::string> TorchArchive::records() const {
  std::vector<std::string> out;
  for (const auto& [name, entry] : entries_)
    if (name.compare(0, prefix_.size(), prefix_) == 0) out.push_back(name.substr(prefix_.size()));
  return out;
}

const ZipEntry& TorchArchive::entry(const std::string& record) const {
  auto found = entries_.find(prefix_ + record);
  if (found == entries_.end()) fail("{} lacks the record {}{} that its pickle names", path_, prefix_, record);
  return found->second;
}

uint64_t TorchArchive::size_of(const std::string& record) const { return entry(record).size; }

void TorchArchive::check_stored_size(const ZipEntry& found) const {
  if (found.method == 0 && found.compressed_size != found.size)
    fail("{} is damaged: stored record {} has {} bytes and claims {}", path_, found.name, found.compressed_size,
         found.size);
}

void TorchArchive::seek_to_data(const ZipEntry& found) {
  // The local header: 30 bytes, then its own name and extra field.
  unsigned char header[30];
  in_.clear();
  in_.seekg(static_cast<std::streamoff>(found.local_header_offset));
  in_.read(reinterpret_cast<char*>(header), 30);
  if (in_.gcount() != 30 || header[0] != 'P' || header[1] != 'K' || header[2] != 3 || header[3] != 4)
    fail("{} is damaged: record {} has no local header at offset {}", path_, found.name, found.local_header_offset);
  const uint64_t skip = 30 + (header[26] | (header[27] << 8)) + (header[28] | (header[29] << 8));
  in_.seekg(static_cast<std::streamoff>(found.local_header_offset + skip));
}

std::string TorchArchive::read(const std::string& record, uint64_t limit, const char* what) {
  const ZipEntry& found = entry(record);
  if (found.method != 0 && found.method != 8)
    fail("{}: record {} uses zip method {} (stored or deflated expected)", path_, found.name, found.method);
  check_stored_size(found);
  // Deflate inflates at most about 1032 to 1: a larger claim is a lie.
  if (found.method == 8 && found.size > 1100 * found.compressed_size + 1024)
    fail("{} is damaged: record {} claims {} bytes from {} compressed, more than deflate can hold", path_, found.name,
         found.size, found.compressed_size);
  if (found.size > limit)
    fail("{}: record {} holds {} bytes, where at most {} are expected for {}", path_, found.name, found.size, limit,
         what);
  check_memory(found.size + (found.method == 8 ? found.compressed_size : 0),
               fmt::format("{}'s record {}", path_, found.name), "raise --memory-limit");
  seek_to_data(found);
  std::string stored(found.compressed_size, '\0');
  in_.read(stored.data(), static_cast<std::streamsize>(found.compressed_size));
  if (static_cast<uint64_t>(in_.gcount()) != found.compressed_size)
    fail("{} is truncated: record {} ends past the end of the file", path_, found.name);
  std::string bytes = found.method == 0 ? std::move(stored) : inflate_record(stored, found);
  if (crc32_of(bytes.data(), bytes.size()) != found.crc32)
    fail("{} is damaged: record {} does not match its CRC-32 (flipped bits or a cut copy); copy the file again", path_,
         found.name);
  return bytes;
}

void TorchArchive::check_crc(const std::string& record) {
  const ZipEntry& found = entry(record);
  if (found.method != 0) {
    read(record, found.size, "its bytes");  // inflated whole: the code records are small
    return;
  }
  check_stored_size(found);
  seek_to_data(found);
  std::vector<char> piece(1 << 20);
  uLong crc = crc32(0L, Z_NULL, 0);
  for (uint64_t left = found.size; left > 0;) {
    const auto n = static_cast<std::streamsize>(std::min<uint64_t>(left, piece.size()));
    in_.read(piece.data(), n);
    if (in_.gcount() != n) fail("{} is truncated: record {} ends past the end of the file", path_, found.name);
    crc = crc32(crc, reinterpret_cast<const Bytef*>(piece.data()), static_cast<uInt>(n));
    left -= static_cast<uint64_t>(n);
  }
  if (static_cast<uint32_t>(crc) != found.crc32)
    fail("{} is damaged: record {} does not match its CRC-32 (flipped bits or a cut copy); copy the file again", path_,
         found.name);
}

std::string TorchArchive::inflate_record(const std::string& stored, const ZipEntry& found) const {
  std::string bytes(found.size, '\0');
  z_stream stream{};
  if (inflateInit2(&stream, -MAX_WBITS) != Z_OK) fail("zlib could not start inflating {}", found.name);
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(stored.data()));
  stream.avail_in = static_cast<uInt>(stored.size());
  stream.next_out = reinterpret_cast<Bytef*>(bytes.data());
  stream.avail_out = static_cast<uInt>(bytes.size());
  const int code = inflate(&stream, Z_FINISH);
  const uint64_t produced = stream.total_out;
  inflateEnd(&stream);
  if (code != Z_STREAM_END || produced != found.size)
    fail("{} is damaged: record {} does not inflate to the {} bytes it claims", path_, found.name, found.size);
  return bytes;
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
