#pragma once
// The central directory of a zip archive (PKWARE APPNOTE 6.3: the end of
// central directory record, its zip64 form, and one header per file): what
// each record's size, method and CRC-32 are, read before any record is, so
// that a torch.save archive's sizes are checked against the file and the
// memory limit before LibTorch's zip reader allocates for them, and each
// record's bytes can be checked against its CRC after.

#include <cstdint>
#include <string>
#include <vector>

namespace dgm {

struct ZipEntry {
  std::string name;
  uint16_t method = 0;  ///< 0 stored, 8 deflated
  uint32_t crc32 = 0;
  uint64_t compressed_size = 0, size = 0;
  uint64_t local_header_offset = 0;
};

/// The entries of the zip archive `path`, in directory order. A file that
/// is not a zip archive, or whose directory is damaged, truncated or points
/// outside the file, is a dgm::Error naming it.
std::vector<ZipEntry> read_zip_directory(const std::string& path);

/// CRC-32 (zlib's) of `size` bytes.
uint32_t crc32_of(const void* data, uint64_t size);

}  // namespace dgm
