#pragma once
// An advisory lock on a directory that one dgm process writes (a run
// directory during `dgm train`, a model directory during `dgm gmm fit`): a
// second process that would write the same files at once refuses, naming the
// first one's PID. flock(2) on `DIR/.dgm.lock`: the kernel drops the lock
// when the holder exits, however it exits (kill -9 included), so a stale lock
// file never blocks the next run.

#include <string>
#include <vector>

namespace dgm {

class DirectoryLock {
 public:
  /// Creates `dir` if needed and locks it; a dgm::Error naming the holder's
  /// PID if another process holds the lock. `what` names the directory's
  /// role in the message ("run directory").
  DirectoryLock(const std::string& dir, const std::string& what);
  ~DirectoryLock();
  DirectoryLock(const DirectoryLock&) = delete;
  DirectoryLock& operator=(const DirectoryLock&) = delete;

  /// Removes the temporary files ("last.pt.tmp.4242") that a process which
  /// has since ended (killed while writing) left in `dir`, and returns their
  /// paths. Call it while holding the lock: no other writer is then at work.
  static std::vector<std::string> remove_stale_temporaries(const std::string& dir);
  /// The lock file's path.
  static std::string lock_path(const std::string& dir);

 private:
  int fd_ = -1;
};

}  // namespace dgm
