// A run directory's run.json (dgm eval --run, dgm train --resume): the
// format, versions, model type and data shape a model is then built from.
#include "fuzz_support.h"
#include "trainers/run_directory.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  dgm_fuzz::write_input(data, size, "run.json");
  dgm_fuzz::expect_clean([&] { dgm::read_run_metadata(dgm_fuzz::scratch_directory().string()); });
  return 0;
}
