// dgm's CSV readers: data sets (--data FILE.csv) and the points of
// `dgm gmm predict`.
#include "core/csv.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = dgm_fuzz::write_input(data, size, "input.csv");
  dgm_fuzz::expect_clean([&] { dgm::read_csv(path); });
  dgm_fuzz::expect_clean([&] { dgm::read_points(path); });
  return 0;
}
