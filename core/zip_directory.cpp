#include "core/zip_directory.h"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "core/error.h"

namespace dgm {
namespace {

constexpr uint32_t kEndOfDirectory = 0x06054b50, kZip64End = 0x06064b50, kZip64Locator = 0x07064b50,
                   kDirectoryHeader = 0x02014b50;
constexpr uint64_t kMaxComment = 0xFFFF, kEndSize = 22, kMaxEntries = 1 << 20;

uint64_t little(const unsigned char* p, int n) {
  uint64_t value = 0;
  for (int i = n - 1; i >= 0; --i) value = (value << 8) | p[i];
  return value;
}

class File {
 public:
  explicit File(const std::string& path) : path_(path), in_(path, std::ios::binary) {
    if (!in_) fail("cannot open {}: {}", path, std::strerror(errno));
    std::error_code error;
    size_ = std::filesystem::file_size(path, error);
    if (error) fail("cannot read the size of {}: {}", path, error.message());
  }
  uint64_t size() const { return size_; }
  std::vector<unsigned char> read(uint64_t offset, uint64_t n, const char* what) {
    if (offset > size_ || n > size_ - offset)
      fail("{} is damaged or not a zip archive: its {} lies past the end of the file ({} bytes)", path_, what, size_);
    std::vector<unsigned char> bytes(n);
    in_.seekg(static_cast<std::streamoff>(offset));
    in_.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(n));
    if (static_cast<uint64_t>(in_.gcount()) != n) fail("cannot read {}: {}", path_, std::strerror(errno));
    return bytes;
  }

 private:
  std::string path_;
  std::ifstream in_;
  uint64_t size_ = 0;
};

}  // namespace

uint32_t crc32_of(const void* data, uint64_t size) {
  uLong crc = crc32(0L, Z_NULL, 0);
  const auto* bytes = static_cast<const Bytef*>(data);
  while (size > 0) {
    const auto piece = static_cast<uInt>(std::min<uint64_t>(size, uint64_t{1} << 30));
    crc = crc32(crc, bytes, piece);
    bytes += piece;
    size -= piece;
  }
  return static_cast<uint32_t>(crc);
}

std::vector<ZipEntry> read_zip_directory(const std::string& path) {
  File file(path);
  auto not_zip = [&](const char* what) -> void {
    fail("{} is damaged or not a zip archive ({}); a torch.save file is a zip archive", path, what);
  };
  if (file.size() < kEndSize) not_zip("too short for a zip directory");
  // The end record: the last signature within the final 22 + 65535 bytes.
  const uint64_t tail_size = std::min(file.size(), kEndSize + kMaxComment);
  const auto tail = file.read(file.size() - tail_size, tail_size, "end");
  int64_t end_at = -1;
  for (int64_t i = static_cast<int64_t>(tail_size - kEndSize); i >= 0; --i)
    if (little(&tail[static_cast<std::size_t>(i)], 4) == kEndOfDirectory) {
      end_at = i;
      break;
    }
  if (end_at < 0) not_zip("no end of central directory record");
  const unsigned char* end = &tail[static_cast<std::size_t>(end_at)];
  uint64_t entries = little(end + 10, 2), directory_size = little(end + 12, 4), directory_offset = little(end + 16, 4);
  const uint64_t end_offset = file.size() - tail_size + static_cast<uint64_t>(end_at);
  if (entries == 0xFFFF || directory_size == 0xFFFFFFFF || directory_offset == 0xFFFFFFFF) {
    // zip64: a locator just before the end record names the zip64 end record.
    if (end_offset < 20) not_zip("a zip64 archive without its locator");
    const auto locator = file.read(end_offset - 20, 20, "zip64 locator");
    if (little(locator.data(), 4) != kZip64Locator) not_zip("a zip64 archive without its locator");
    const auto zip64 = file.read(little(locator.data() + 8, 8), 56, "zip64 end record");
    if (little(zip64.data(), 4) != kZip64End) not_zip("a damaged zip64 end record");
    entries = little(zip64.data() + 32, 8);
    directory_size = little(zip64.data() + 40, 8);
    directory_offset = little(zip64.data() + 48, 8);
  }
  if (entries > kMaxEntries) not_zip("more than a million entries");
  const auto directory = file.read(directory_offset, directory_size, "central directory");
  std::vector<ZipEntry> out;
  uint64_t at = 0;
  for (uint64_t e = 0; e < entries; ++e) {
    if (directory.size() - at < 46 || little(&directory[at], 4) != kDirectoryHeader)
      not_zip("a damaged central directory header");
    const unsigned char* h = &directory[at];
    ZipEntry entry;
    entry.method = static_cast<uint16_t>(little(h + 10, 2));
    entry.crc32 = static_cast<uint32_t>(little(h + 16, 4));
    entry.compressed_size = little(h + 20, 4);
    entry.size = little(h + 24, 4);
    const uint64_t name_length = little(h + 28, 2), extra_length = little(h + 30, 2),
                   comment_length = little(h + 32, 2);
    entry.local_header_offset = little(h + 42, 4);
    if (directory.size() - at - 46 < name_length + extra_length + comment_length)
      not_zip("a central directory header longer than the directory");
    entry.name.assign(reinterpret_cast<const char*>(h + 46), name_length);
    // zip64 sizes and offset, in that order, for the fields set to 0xFFFFFFFF.
    const unsigned char* extra = h + 46 + name_length;
    for (uint64_t x = 0; x + 4 <= extra_length;) {
      const uint64_t id = little(extra + x, 2), length = little(extra + x + 2, 2);
      if (x + 4 + length > extra_length) not_zip("a damaged extra field");
      if (id == 0x0001) {
        uint64_t field = x + 4;
        auto next = [&](uint64_t& value) {
          if (value != 0xFFFFFFFF) return;
          if (field + 8 > x + 4 + length) not_zip("a short zip64 extra field");
          value = little(extra + field, 8);
          field += 8;
        };
        next(entry.size);
        next(entry.compressed_size);
        next(entry.local_header_offset);
      }
      x += 4 + length;
    }
    if (entry.local_header_offset > file.size() || entry.compressed_size > file.size() - entry.local_header_offset)
      fail("{} is damaged: its record {} claims {} bytes at offset {}, past the end of the file ({} bytes)", path,
           entry.name.substr(0, 200), entry.compressed_size, entry.local_header_offset, file.size());
    out.push_back(std::move(entry));
    at += 46 + name_length + extra_length + comment_length;
  }
  return out;
}

}  // namespace dgm
