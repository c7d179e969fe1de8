#include "apps/cli_common.h"

#include <fmt/format.h>

#include <cmath>
#include <cstdlib>

#include "core/blas_check.h"
#include "core/device.h"

namespace dgm {

torch::Device prepare_device(const std::string& device, int64_t threads) {
  set_threads(static_cast<int>(threads));
  const std::string warning = blas_warning();
  if (!warning.empty()) fmt::print(stderr, "{}\n", warning);
  return resolve_device(device);
}

CLI::Validator at_least(double minimum) {
  return CLI::Validator(
      [minimum](std::string& text) -> std::string {
        char* end = nullptr;
        const double value = std::strtod(text.c_str(), &end);
        if (text.empty() || end == text.c_str() || *end != '\0' || std::isnan(value))
          return fmt::format("'{}' is not a number", text);
        if (value < minimum) return fmt::format("{} is too small: it must be at least {:g}", text, minimum);
        return "";
      },
      fmt::format(">={:g}", minimum));
}

void add_device_option(CLI::App& app, std::string& target) {
  app.add_option("--device", target, "auto (CUDA when available), cpu, cuda or cuda:N");
}

}  // namespace dgm
