// dgm's YAML configs (dgm train --config, a run directory's config.yaml):
// keys, types and ranges checked against the option tables of every model.
#include <string>

#include "fuzz_support.h"
#include "trainers/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  dgm_fuzz::expect_clean([&] { dgm::parse_config(text, "fuzz.yaml"); });
  return 0;
}
