#pragma once
// What every dgm command shares: its registration shape, device and thread
// setup, and command-line options derived from the options tables of the
// library (core/options.h), so that a key, its description, its default and
// its valid values are written once.

#include <torch/types.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "core/error.h"
#include "core/options.h"

namespace dgm {

/// A subcommand: its CLI11 node and what runs when it was given. run()
/// returns the process exit status.
struct Command {
  Command() = default;
  Command(CLI::App* app_, std::function<int()> run_, std::function<bool()> distributed_ = {})
      : app(app_), run(std::move(run_)), distributed(std::move(distributed_)) {}
  CLI::App* app = nullptr;
  std::function<int()> run;
  /// Whether the subcommand parsed can run as several processes (torchrun;
  /// core/process_group.h); unset: one process only.
  std::function<bool()> distributed;
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
Command add_attributes_command(CLI::App& parent);
Command add_edit_command(CLI::App& parent);
Command add_traverse_command(CLI::App& parent);
Command add_interpolate_command(CLI::App& parent);
Command add_probe_command(CLI::App& parent);
Command add_bdmc_command(CLI::App& parent);
Command add_plot_command(CLI::App& parent);

/// A mistake in how a command was called (a missing model source, options
/// that do not go together): printed with the usage line, exit status 2.
class UsageError : public Error {
 public:
  using Error::Error;
};

template <typename... Args>
[[noreturn]] void fail_usage(fmt::format_string<Args...> format, Args&&... args) {
  throw UsageError(fmt::format(format, std::forward<Args>(args)...));
}

/// Sets the thread count, warns about a slow BLAS, and resolves the device.
torch::Device prepare_device(const std::string& device, int64_t threads);

/// A CLI11 check of a numeric option from its valid values. CLI11's own
/// NonNegativeNumber and PositiveNumber name their range as "0.000000 to
/// 1797693...(300 digits)" and call "abc" out of range; this says
/// "'abc' is not a number" or "0 is too small: it must be at least 1".
CLI::Validator cli_check(const Valid& valid);

/// Prints `out` as one line of JSON (a command's --json). JSON holds Unicode
/// text only: bytes of a file name that are not UTF-8 are printed as U+FFFD
/// rather than failing the command.
void print_json(const nlohmann::json& out);

/// Removes the temporary files that stopped dgm processes left in `dir`
/// (DirectoryLock::remove_stale_temporaries; hold the lock) and says so on stderr.
void remove_stale_temporaries_of(const std::string& dir);

/// Adds the --device option (auto, cpu, cuda, cuda:N) bound to `target`.
void add_device_option(CLI::App& app, std::string& target);

/// Adds `--name` for the option `info` (bool: a flag), its help the option's
/// description and `default_note`, its check the option's valid values (an
/// IsMember of its choices, or cli_check); `set` gets the text given.
CLI::Option* add_described_option(CLI::App& app, const OptionInfo& info, const Valid& valid,
                                  std::function<void(const std::string&)> set, const std::string& default_note);

/// One option per field of `table` (but those in `skip`), read into `target`
/// through the field: the same checks and messages as in a config file.
template <typename S>
void add_table_options(CLI::App& app, const OptionTable<S>& table, S& target,
                       const std::vector<std::string>& skip = {}) {
  for (const auto& field : table.fields()) {
    if (std::find(skip.begin(), skip.end(), field.info.name) != skip.end()) continue;
    const Field<S>* f = &field;
    S* t = &target;
    add_described_option(
        app, field.info, field.valid,
        [f, t](const std::string& text) {
          read_field_text(*f, *t, text, {option_flag(f->info.name), option_flag(f->info.name)});
        },
        "default: " + field.info.default_value);
  }
}

/// One option per field of `table` named in `only`, for a config loaded
/// later: each given value becomes "section.key=value" in `overrides`.
template <typename S>
void add_override_options(CLI::App& app, const OptionTable<S>& table, const std::string& section,
                          std::vector<std::string>& overrides, const std::vector<std::string>& only) {
  for (const auto& name : only) {
    const Field<S>* field = table.find(name);
    if (field == nullptr) throw std::logic_error("no option " + section + "." + name);
    const std::string key = section + "." + name;
    add_described_option(
        app, field->info, field->valid,
        [key, &overrides](const std::string& text) { overrides.push_back(key + "=" + text); },
        "default: " + key + " of the run, else " + field->info.default_value);
  }
}

}  // namespace dgm
