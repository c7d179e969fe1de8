#pragma once
// Files a user keeps are never half-written: everything is written to a
// temporary name beside the target and renamed over it, which is atomic on POSIX.

#include <cstddef>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace dgm {

/// Calls `write(tmp_path)`, flushes tmp_path to the disk and renames it onto
/// `path`. If `write` throws, the temporary file is removed and `path` is
/// left as it was.
void write_atomically(const std::string& path, const std::function<void(const std::string&)>& write);

/// Where bytes go: takes (data, size) and returns size (LibTorch's writer
/// function type).
using ByteSink = std::function<std::size_t(const void*, std::size_t)>;

/// Writes what `produce` hands its sink to `path`, atomically and flushed to
/// the disk before the rename. A write error (a full disk, a read-only file
/// system, no permission) is a dgm::Error in dgm's words that says `path`
/// is as it was; the temporary file is removed.
void write_sink_atomically(const std::string& path, const std::function<void(const ByteSink&)>& produce);

/// strerror(code), with what to do for the errors of a write (ENOSPC,
/// EDQUOT, EFBIG, EROFS, EACCES).
std::string write_error(int code);

/// Writes `text` to `path` atomically.
void write_text_atomically(const std::string& path, const std::string& text);

/// Files that change together (a model directory's parameters and their
/// description): each is written in full to its temporary name first, and
/// only when every one is on the disk does commit() rename them into place,
/// in the order they were named. A failure before commit (a full disk)
/// leaves the previous files as they were: the destructor removes the
/// temporaries.
class AtomicFileSet {
 public:
  AtomicFileSet() = default;
  AtomicFileSet(const AtomicFileSet&) = delete;
  AtomicFileSet& operator=(const AtomicFileSet&) = delete;
  ~AtomicFileSet();
  /// Where to write the new `path` ("path.tmp.PID"); write it with any writer.
  std::string temporary(const std::string& path);
  /// Renames every temporary onto its path, with SIGINT and SIGTERM held
  /// back so that an interrupt never leaves half of the set renamed.
  void commit();

 private:
  std::vector<std::pair<std::string, std::string>> files_;  ///< (temporary, path)
  std::vector<int> tickets_;                                ///< remember_temporary's, to forget after commit
};

/// Reads a whole file; a missing file is a dgm::Error naming it.
std::string read_text_file(const std::string& path);

}  // namespace dgm
