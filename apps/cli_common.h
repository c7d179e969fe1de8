#pragma once
// What every dgm command shares: its registration shape, device and thread
// setup, and the output of results.

#include <torch/types.h>
#include <CLI/CLI.hpp>

#include <functional>
#include <string>

namespace dgm {

/// A subcommand: its CLI11 node and what runs when it was given. run()
/// returns the process exit status.
struct Command {
  CLI::App* app = nullptr;
  std::function<int()> run;
};

Command add_train_command(CLI::App& parent);
Command add_eval_command(CLI::App& parent);
Command add_sample_command(CLI::App& parent);
Command add_config_command(CLI::App& parent);
Command add_estimate_command(CLI::App& parent);
Command add_inpaint_command(CLI::App& parent);
Command add_gmm_command(CLI::App& parent);
Command add_export_command(CLI::App& parent);
Command add_import_command(CLI::App& parent);

/// Sets the thread count, warns about a slow BLAS, and resolves the device.
torch::Device prepare_device(const std::string& device, int64_t threads);

/// A check for a numeric option: at least `minimum`. CLI11's own
/// NonNegativeNumber and PositiveNumber name their range as "0.000000 to
/// 1797693...(300 digits)" and call "abc" out of range; this says
/// "'abc' is not a number" or "0 is too small: it must be at least 1".
CLI::Validator at_least(double minimum);

/// Adds the --device option (auto, cpu, cuda, cuda:N) bound to `target`.
void add_device_option(CLI::App& app, std::string& target);

}  // namespace dgm
