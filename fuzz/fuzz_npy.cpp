// dgm's NPY reader (--data FILE.npy, data.path): a hand-parsed header of
// bounded length, then the array, its size checked against the file.
#include "core/npy.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = dgm_fuzz::write_input(data, size, "input.npy");
  dgm_fuzz::expect_clean([&] { dgm::read_npy(path); });
  return 0;
}
