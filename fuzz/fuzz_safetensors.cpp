// dgm's safetensors reader (--weights FILE.safetensors): the JSON header,
// then every tensor's offsets checked against the file and each other.
#include "core/safetensors.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = dgm_fuzz::write_input(data, size, "input.safetensors");
  dgm_fuzz::expect_clean([&] { dgm::read_safetensors(path); });
  return 0;
}
