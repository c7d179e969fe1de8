// A whole torch.save / TorchScript file: the zip directory, the records'
// sizes and CRCs, the pickle and the tensors' views of their storages, as
// `dgm import --weights` and `dgm eval --encoder/--decoder` read it (the
// TorchScript check is what runs before torch::jit::load sees a file).
#include "core/torch_archive.h"
#include "core/torch_state_dict.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = dgm_fuzz::write_input(data, size, "input.pt");
  dgm_fuzz::expect_clean([&] { dgm::read_torch_state_dict(path); });
  dgm_fuzz::expect_clean([&] { dgm::check_torchscript_archive(path); });
  return 0;
}
