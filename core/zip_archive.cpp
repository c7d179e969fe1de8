#include "core/zip_archive.h"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "core/error.h"
#include "core/memory_budget.h"

namespace dgm {

ZipArchive::ZipArchive(const std::string& path) : path_(path), in_(path, std::ios::binary) {
  if (!in_) fail("cannot open {}: {}", path, std::strerror(errno));
  for (auto& entry : read_zip_directory(path)) entries_.emplace(entry.name, std::move(entry));
}

std::vector<std::string> ZipArchive::names() const {
  std::vector<std::string> out;
  for (const auto& [name, entry] : entries_) out.push_back(name);
  return out;
}

const ZipEntry* ZipArchive::find(const std::string& name) const {
  auto found = entries_.find(name);
  return found == entries_.end() ? nullptr : &found->second;
}

const ZipEntry& ZipArchive::entry(const std::string& name, const char* why) const {
  const ZipEntry* found = find(name);
  if (found == nullptr) fail("{} lacks the record {} {}", path_, name, why);
  return *found;
}

void ZipArchive::check_stored_size(const ZipEntry& found) const {
  if (found.method == 0 && found.compressed_size != found.size)
    fail("{} is damaged: stored record {} has {} bytes and claims {}", path_, found.name, found.compressed_size,
         found.size);
}

void ZipArchive::seek_to_data(const ZipEntry& found) {
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

std::string ZipArchive::read(const std::string& name, uint64_t limit, const char* what) {
  const ZipEntry& found = entry(name, "asked for");
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

void ZipArchive::check_crc(const std::string& name) {
  const ZipEntry& found = entry(name, "asked for");
  if (found.method != 0) {
    read(name, found.size, "its bytes");  // inflated whole
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

std::string ZipArchive::inflate_record(const std::string& stored, const ZipEntry& found) const {
  // zlib counts one call's bytes in 32 bits.
  if (found.size > UINT32_MAX || stored.size() > UINT32_MAX)
    fail(
        "{}: record {} is deflated and holds {} bytes; dgm inflates records of up to 4 GiB: store the archive "
        "uncompressed (np.savez, not np.savez_compressed)",
        path_, found.name, found.size);
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

}  // namespace dgm
