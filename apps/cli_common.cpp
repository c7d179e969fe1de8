#include "apps/cli_common.h"

#include <fmt/format.h>

#include "core/blas_check.h"
#include "core/device.h"

namespace dgm {

torch::Device prepare_device(const std::string& device, int64_t threads) {
  set_threads(static_cast<int>(threads));
  const std::string warning = blas_warning();
  if (!warning.empty()) fmt::print(stderr, "{}\n", warning);
  return resolve_device(device);
}

void add_device_option(CLI::App& app, std::string& target) {
  app.add_option("--device", target, "auto (CUDA when available), cpu, cuda or cuda:N");
}

}  // namespace dgm
