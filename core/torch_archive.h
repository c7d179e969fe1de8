#pragma once
// The zip archives that torch.save, torch.jit.save and torch::save write,
// read record by record without LibTorch (core/zip_archive.h: sizes checked
// against the file and the memory limit before anything is allocated, each
// record's CRC-32 compared): the records below ARCHIVE/.

#include <string>
#include <vector>

#include "core/zip_archive.h"

namespace dgm {

class TorchArchive {
 public:
  /// Reads the directory of `path`: a dgm::Error unless it is a zip archive
  /// with ARCHIVE/data.pkl.
  explicit TorchArchive(const std::string& path);

  const std::string& path() const { return zip_.path(); }
  /// True for TorchScript archives (they hold ARCHIVE/constants.pkl and code).
  bool is_torchscript() const { return torchscript_; }
  /// The records' names below ARCHIVE/, in name order.
  std::vector<std::string> records() const;
  /// The bytes of ARCHIVE/record (stored, or deflated as TorchScript's code
  /// records are): at most `limit` of them (else a dgm::Error that says
  /// `what` was expected), CRC-checked.
  std::string read(const std::string& record, uint64_t limit, const char* what);
  /// Compares ARCHIVE/record's bytes with its CRC-32, reading a stored
  /// record in pieces (memory stays small whatever its size).
  void check_crc(const std::string& record);
  /// The stored size of ARCHIVE/record (a dgm::Error when it is missing).
  uint64_t size_of(const std::string& record) const;

 private:
  const ZipEntry& entry(const std::string& record) const;
  ZipArchive zip_;
  std::string prefix_;
  bool torchscript_ = false;
};

/// Checks every pickle of a TorchScript archive (data.pkl, constants.pkl and
/// the code's debug records) with dgm's strict reader in its TorchScript
/// dialect, every tensor against its storage record, and every other
/// record's bytes against its CRC-32, before LibTorch's loader may read it:
/// its unpickler crashes on crafted records, and it checks no CRC (issue
/// 13). A dgm::Error naming the file otherwise.
void check_torchscript_archive(const std::string& path);

}  // namespace dgm
