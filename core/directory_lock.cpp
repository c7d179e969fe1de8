#include "core/directory_lock.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>

#include "core/error.h"

namespace dgm {
namespace fs = std::filesystem;

std::string DirectoryLock::lock_path(const std::string& dir) { return (fs::path(dir) / ".dgm.lock").string(); }

DirectoryLock::DirectoryLock(const std::string& dir, const std::string& what) {
  std::error_code error;
  fs::create_directories(dir, error);
  if (error) fail("cannot create the {} {}: {}", what, dir, error.message());
  const std::string path = lock_path(dir);
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) fail("cannot open the lock file {}: {}", path, std::strerror(errno));
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const int code = errno;
    char holder[32] = {};
    const ssize_t got = ::pread(fd_, holder, sizeof(holder) - 1, 0);
    std::string pid = got > 0 ? std::string(holder, static_cast<std::size_t>(got)) : "unknown";
    while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
    ::close(fd_);
    fd_ = -1;
    if (code == EWOULDBLOCK)
      fail("the {} {} is in use by another dgm process (PID {}); wait for it to finish, or choose another directory",
           what, dir, pid);
    fail("cannot lock the {} {} ({}): {}", what, dir, path, std::strerror(code));
  }
  // The holder's PID, for the message a second process prints.
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd_, 0) != 0 || ::pwrite(fd_, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
    const int code = errno;
    ::close(fd_);  // the destructor does not run for a constructor that throws
    fd_ = -1;
    fail("cannot write the lock file {}: {}", path, std::strerror(code));
  }
}

namespace {

/// The PID of a temporary name write_atomically made ("best.pt.tmp.4242"),
/// or 0 for any other name.
long temporary_owner(const std::string& name) {
  const auto mark = name.rfind(".tmp.");
  if (mark == std::string::npos || mark == 0) return 0;
  const std::string digits = name.substr(mark + 5);
  if (digits.empty() || digits.size() > 9) return 0;
  for (char c : digits)
    if (!std::isdigit(static_cast<unsigned char>(c))) return 0;
  return std::stol(digits);
}

}  // namespace

std::vector<std::string> DirectoryLock::remove_stale_temporaries(const std::string& dir) {
  std::vector<std::string> removed;
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(dir, error)) {
    if (!entry.is_regular_file(error)) continue;
    const long owner = temporary_owner(entry.path().filename().string());
    // kill(pid, 0) fails with ESRCH once that process has ended: its
    // half-written file can never be finished or renamed.
    if (owner <= 0 || owner == ::getpid() || ::kill(static_cast<pid_t>(owner), 0) == 0 || errno != ESRCH) continue;
    if (fs::remove(entry.path(), error)) removed.push_back(entry.path().string());
  }
  return removed;
}

DirectoryLock::~DirectoryLock() {
  if (fd_ >= 0) ::close(fd_);  // closing the descriptor releases the lock
}

}  // namespace dgm
