// dgm's NPZ reader (data.path FILE.npz): the zip directory and records of
// core/zip_archive.h (sizes, deflate's ratio, the memory limit, CRC-32),
// then each record's NPY header and array.
#include "core/npz.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = dgm_fuzz::write_input(data, size, "input.npz");
  dgm_fuzz::expect_clean([&] { dgm::read_npz(path, ""); });
  dgm_fuzz::expect_clean([&] { dgm::read_npz(path, "x"); });
  return 0;
}
