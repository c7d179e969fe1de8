#pragma once

// What every fuzz target shares: the input written to a file of the name a
// reader expects (dgm's readers take paths, as users hand them files), a
// memory limit low enough that a size a file announces is refused by dgm
// before libFuzzer's malloc limit sees it, and the rule the targets check:
// a reader returns or throws dgm::Error. Anything else (a crash, a
// sanitizer report, another exception, a leak) is a finding.

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "core/error.h"
#include "core/memory_budget.h"

namespace dgm_fuzz {

/// A directory of this process's own, removed at exit.
inline const std::filesystem::path& scratch_directory() {
  static const std::filesystem::path dir = [] {
    const char* shm = "/dev/shm";
    std::filesystem::path base = std::filesystem::is_directory(shm) ? shm : std::filesystem::temp_directory_path();
    std::filesystem::path made = base / ("dgm-fuzz-" + std::to_string(getpid()));
    std::filesystem::create_directories(made);
    std::atexit([] {
      std::error_code ignored;
      std::filesystem::remove_all(scratch_directory(), ignored);
    });
    return made;
  }();
  return dir;
}

/// Writes `size` bytes to `name` in the scratch directory and returns its path.
inline std::string write_input(const void* data, std::size_t size, const std::string& name) {
  const std::filesystem::path path = scratch_directory() / name;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(static_cast<const char*>(data), static_cast<std::streamsize>(size));
  out.close();
  if (!out) {
    std::fprintf(stderr, "fuzz: cannot write %s\n", path.c_str());
    std::abort();
  }
  return path.string();
}

/// Runs `read`; a dgm::Error (a clear refusal) is the expected way to fail.
template <typename Read>
void expect_clean(Read&& read) {
  try {
    read();
  } catch (const dgm::Error&) {
  }
}

}  // namespace dgm_fuzz

/// libFuzzer calls this once before the first input (each target is one
/// translation unit, so defining it here defines it once per target): every
/// target runs under a memory limit of 256 MiB, a quarter of the malloc
/// limit scripts/fuzz gives libFuzzer.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  dgm::set_memory_limit(uint64_t{256} << 20);
  return 0;
}
