// dgm's IDX reader on raw bytes: MNIST's files, raw or gzip (told apart by
// gzip's magic bytes), as `--data` and data.path hand them over.
#include "core/idx.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = dgm_fuzz::write_input(data, size, "input-ubyte");
  dgm_fuzz::expect_clean([&] { dgm::read_idx(path); });
  return 0;
}
