#include "apps/cli_common.h"

#include <fmt/format.h>
#include <torch/cuda.h>

#include <cmath>
#include <cstdlib>

#include "core/blas_check.h"
#include "core/device.h"
#include "core/directory_lock.h"
#include "core/error.h"
#include "core/process_group.h"

namespace dgm {
namespace {
/// "cuda:1" names its GPU; "cuda" and "auto" do not.
bool device_names_index(const std::string& device) { return device.find(':') != std::string::npos; }
}  // namespace

torch::Device prepare_device(const std::string& device, int64_t threads) {
  set_threads(static_cast<int>(threads));
  const std::string warning = blas_warning();
  if (!warning.empty()) fmt::print(stderr, "{}\n", warning);
  const torch::Device resolved = resolve_device(device);
  // One GPU per process of a group (torchrun's convention): "cuda" is the
  // GPU of this process's LOCAL_RANK; "cuda:N" stays as the user wrote it.
  if (resolved.is_cuda() && !device_names_index(device) && process_group().size() > 1) {
    const auto environment = process_group_environment();
    if (environment) {
      const auto gpus = static_cast<int>(torch::cuda::device_count());
      if (environment->local_rank >= gpus)
        fail("LOCAL_RANK = {} but this machine has {} GPU(s): start at most {} processes per machine for device {}",
             environment->local_rank, gpus, gpus, device);
      return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(environment->local_rank));
    }
  }
  return resolved;
}

CLI::Validator cli_check(const Valid& valid) {
  return CLI::Validator(
      [valid](std::string& text) -> std::string {
        char* end = nullptr;
        const double value = std::strtod(text.c_str(), &end);
        if (text.empty() || end == text.c_str() || *end != '\0' || std::isnan(value))
          return fmt::format("'{}' is not a number", text);
        const auto why = valid.range_violation(value);
        if (why.empty()) return "";
        return fmt::format("{} is too {}: {}", text, value < valid.min || value == valid.min ? "small" : "large", why);
      },
      valid.describe());
}

void remove_stale_temporaries_of(const std::string& dir) {
  for (const auto& stale : DirectoryLock::remove_stale_temporaries(dir))
    fmt::print(stderr, "removed {}, a temporary file left by a dgm process that was stopped while writing\n", stale);
}

void print_json(const nlohmann::json& out) {
  fmt::print("{}\n", out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

void add_device_option(CLI::App& app, std::string& target) {
  app.add_option("--device", target, "auto (CUDA when available), cpu, cuda or cuda:N");
}

CLI::Option* add_described_option(CLI::App& app, const OptionInfo& info, const Valid& valid,
                                  std::function<void(const std::string&)> set, const std::string& default_note) {
  const std::string flag = option_flag(info.name);
  std::string help = info.description;
  if (!default_note.empty()) help += " (" + default_note + ")";
  // Errors from reading a value are usage errors (exit status 2), like CLI11's own.
  auto guarded = [flag, set](const std::string& text) {
    try {
      set(text);
    } catch (const Error& e) {
      throw CLI::ValidationError(flag, e.what());
    }
  };
  if (info.type == "true or false")
    return app.add_flag_function(
        flag, [guarded](std::int64_t count) { guarded(count > 0 ? "true" : "false"); }, help);
  CLI::Option* option = app.add_option_function<std::string>(flag, guarded, help);
  if (!info.choices.empty()) {
    option->check(CLI::IsMember(info.choices));
  } else if (valid.names) {
    option->check(CLI::IsMember(valid.names()));
  } else if (info.type == "integer" || info.type == "number") {
    option->check(cli_check(valid));
    option->type_name(info.type == "integer" ? "INT" : "NUMBER");
  }
  return option;
}

}  // namespace dgm
