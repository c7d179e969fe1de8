#include "core/atomic_file.h"

#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "core/interrupt.h"

namespace dgm {

std::string write_error(int code) {
  std::string text = std::strerror(code);
  switch (code) {
    case ENOSPC:
    case EDQUOT:
      return text + " (the disk is full: free some space, or write elsewhere with --out)";
    case EFBIG:
      return text + " (past this process's file size limit, ulimit -f)";
    case EROFS:
      return text + " (a read-only file system: write elsewhere with --out)";
    case EACCES:
    case EPERM:
      return text + " (no permission to write there: write elsewhere with --out)";
    default:
      return text;
  }
}

namespace {

/// Flushes a file's data to the disk, so that a rename after it never
/// publishes a file whose blocks were lost (and a late ENOSPC shows here).
void sync_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail("cannot reopen {} to flush it: {}", path, write_error(errno));
  const int result = ::fsync(fd), code = errno;
  ::close(fd);
  if (result != 0) fail("cannot write {}: {}", path, write_error(code));
}

/// The rename itself made durable (best effort: some file systems refuse).
void sync_directory_of(const std::string& path) {
  const auto parent = std::filesystem::path(path).parent_path();
  const int fd = ::open(parent.empty() ? "." : parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

}  // namespace

void write_atomically(const std::string& path, const std::function<void(const std::string&)>& write) {
  const std::string tmp = fmt::format("{}.tmp.{}", path, ::getpid());
  const int ticket = remember_temporary(tmp);  // an interrupt removes it
  try {
    write(tmp);
    sync_file(tmp);
  } catch (...) {
    std::remove(tmp.c_str());
    forget_temporary(ticket);
    throw;
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string reason = write_error(errno);
    std::remove(tmp.c_str());
    forget_temporary(ticket);
    fail("cannot rename {} to {}: {}", tmp, path, reason);
  }
  forget_temporary(ticket);
  sync_directory_of(path);
}

void write_sink_atomically(const std::string& path, const std::function<void(const ByteSink&)>& produce) {
  write_atomically(path, [&](const std::string& tmp) {
    std::FILE* file = std::fopen(tmp.c_str(), "wb");
    if (file == nullptr) fail("cannot open {} for writing: {}", tmp, write_error(errno));
    int error = 0;
    // The producer (LibTorch's zip writer) is never told of a failure: it
    // would throw from a destructor and abort the program. The first error
    // is kept and reported here, after the producer has returned.
    const ByteSink sink = [&](const void* data, std::size_t size) -> std::size_t {
      if (error == 0 && size > 0 && std::fwrite(data, 1, size, file) != size) error = errno != 0 ? errno : EIO;
      return size;
    };
    try {
      produce(sink);
    } catch (...) {
      std::fclose(file);
      throw;
    }
    if (std::fflush(file) != 0 && error == 0) error = errno;
    if (std::fclose(file) != 0 && error == 0) error = errno;
    if (error != 0) fail("cannot write {}: {}; {} is as it was", path, write_error(error), path);
  });
}

void write_text_atomically(const std::string& path, const std::string& text) {
  write_sink_atomically(path, [&](const ByteSink& sink) { sink(text.data(), text.size()); });
}

std::string AtomicFileSet::temporary(const std::string& path) {
  files_.emplace_back(fmt::format("{}.tmp.{}", path, ::getpid()), path);
  tickets_.push_back(remember_temporary(files_.back().first));
  return files_.back().first;
}

namespace {

/// Holds SIGINT and SIGTERM back while alive: an interrupt arrives after the
/// renames, never between two of them.
class SignalsHeld {
 public:
  SignalsHeld() {
    sigset_t held;
    sigemptyset(&held);
    sigaddset(&held, SIGINT);
    sigaddset(&held, SIGTERM);
    ::pthread_sigmask(SIG_BLOCK, &held, &previous_);
  }
  ~SignalsHeld() { ::pthread_sigmask(SIG_SETMASK, &previous_, nullptr); }

 private:
  sigset_t previous_;
};

}  // namespace

void AtomicFileSet::commit() {
  std::vector<std::string> paths;
  {
    const SignalsHeld held;
    for (const auto& [tmp, path] : files_)
      if (std::rename(tmp.c_str(), path.c_str()) != 0)
        fail("cannot rename {} to {}: {}", tmp, path, write_error(errno));
    for (const auto& file : files_) paths.push_back(file.second);
    files_.clear();
    for (int ticket : tickets_) forget_temporary(ticket);
    tickets_.clear();
  }
  for (const auto& path : paths) sync_directory_of(path);
}

AtomicFileSet::~AtomicFileSet() {
  for (const auto& file : files_) std::remove(file.first.c_str());
  for (int ticket : tickets_) forget_temporary(ticket);
}

std::string read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("cannot open {}: {}", path, std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace dgm
