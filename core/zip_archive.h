#pragma once
// The records of a zip archive, read one at a time: sizes from the central
// directory (core/zip_directory.h) checked against the file, deflate's
// ratio and the memory limit before anything is allocated, the bytes after
// each local header, and their CRC-32 compared, so flipped bits or a cut
// copy are named. torch.save archives (core/torch_archive.h) and NumPy's
// .npz (core/npz.h) are read through it.

#include <cstdint>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "core/zip_directory.h"

namespace dgm {

class ZipArchive {
 public:
  /// Reads the directory of `path`: a dgm::Error unless it is a zip archive.
  explicit ZipArchive(const std::string& path);

  const std::string& path() const { return path_; }
  /// Every record's name, in name order.
  std::vector<std::string> names() const;
  /// The record called `name`, or nullptr.
  const ZipEntry* find(const std::string& name) const;
  /// The bytes of record `name` (stored or deflated): at most `limit` of them
  /// (else a dgm::Error that says `what` was expected), CRC-checked.
  std::string read(const std::string& name, uint64_t limit, const char* what);
  /// Compares record `name`'s bytes with its CRC-32, reading a stored record
  /// in pieces (memory stays small whatever its size).
  void check_crc(const std::string& name);
  /// The record `name`'s entry, or a dgm::Error: "`path` lacks the record
  /// `name` `why`".
  const ZipEntry& entry(const std::string& name, const char* why) const;

 private:
  /// A stored record's two sizes must agree.
  void check_stored_size(const ZipEntry& found) const;
  /// Reads the record's local header and seeks past it to its bytes.
  void seek_to_data(const ZipEntry& found);
  std::string inflate_record(const std::string& stored, const ZipEntry& found) const;

  std::string path_;
  std::ifstream in_;
  std::map<std::string, ZipEntry> entries_;
};

}  // namespace dgm
