// The advisory lock on a directory that one dgm process writes
// (core/directory_lock.h): a second holder refuses, naming the first's PID,
// and the lock goes when its holder does.

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <optional>

#include "core/atomic_file.h"
#include "core/directory_lock.h"
#include "test_support.h"

namespace dgm {
namespace {

TEST(DirectoryLock, ASecondHolderRefusesNamingTheFirstsPidUntilItIsReleased) {
  const auto dir = test::make_temp_dir("lock") + "/run";  // created by the lock
  std::optional<DirectoryLock> first;
  first.emplace(dir, "run directory");
  EXPECT_TRUE(std::filesystem::is_directory(dir));
  EXPECT_EQ(read_text_file(DirectoryLock::lock_path(dir)), std::to_string(::getpid()) + "\n");
  // flock(2) locks belong to an open file, so a second open in this process
  // is refused exactly as another process would be.
  const auto message = test::error_message_of([&] { DirectoryLock second(dir, "run directory"); });
  EXPECT_NE(message.find("in use by another dgm process (PID " + std::to_string(::getpid()) + ")"), std::string::npos)
      << message;
  EXPECT_NE(message.find(dir), std::string::npos) << message;
  first.reset();
  EXPECT_NO_THROW(DirectoryLock again(dir, "run directory"));
}

TEST(DirectoryLock, ADirectoryThatCannotBeCreatedIsAClearError) {
  const auto file = test::make_temp_dir("lock-file") + "/plain";
  write_text_atomically(file, "not a directory");
  const auto message = test::error_message_of([&] { DirectoryLock lock(file + "/run", "run directory"); });
  EXPECT_NE(message.find("cannot create the run directory " + file + "/run"), std::string::npos) << message;
}

TEST(DirectoryLock, TemporariesOfProcessesThatEndedAreRemovedOthersKept) {
  const auto dir = test::make_temp_dir("stale");
  // A PID that is certainly gone: a child that has exited and been reaped.
  const pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  ASSERT_GT(child, 0);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  const std::string gone = dir + "/last.pt.tmp." + std::to_string(child);
  const std::string mine = dir + "/best.pt.tmp." + std::to_string(::getpid());
  const std::string parent = dir + "/metrics.jsonl.tmp." + std::to_string(::getppid());
  for (const auto& path : {gone, mine, parent, dir + "/notes.tmp.txt", dir + "/last.pt"})
    write_text_atomically(path, "x");
  DirectoryLock lock(dir, "run directory");
  EXPECT_EQ(DirectoryLock::remove_stale_temporaries(dir), std::vector<std::string>{gone});
  EXPECT_FALSE(std::filesystem::exists(gone));
  for (const auto& kept : {mine, parent, dir + "/notes.tmp.txt", dir + "/last.pt"})
    EXPECT_TRUE(std::filesystem::exists(kept)) << kept;
}

}  // namespace
}  // namespace dgm
