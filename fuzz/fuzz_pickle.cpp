// dgm's strict pickle reader on a record's bytes, in both dialects: a state
// dict's data.pkl and a TorchScript archive's data.pkl / constants.pkl.
#include <string_view>

#include "core/pickle_reader.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  dgm_fuzz::expect_clean([&] { dgm::read_pickle(bytes, "data.pkl", dgm::PickleDialect::kStateDict); });
  dgm_fuzz::expect_clean([&] { dgm::read_pickle(bytes, "data.pkl", dgm::PickleDialect::kTorchScript); });
  return 0;
}
