// dgm: deep latent variable generative models on LibTorch.
// Parses the command line, runs one subcommand, maps errors to exit statuses:
// 0 success, 1 a failure the message explains, 2 a usage error, 130 Ctrl-C
// (143 SIGTERM; core/interrupt.h).

#include <c10/util/Exception.h>
#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <csignal>
#include <sstream>

#include "apps/cli_common.h"
#include "core/device.h"
#include "core/error.h"
#include "core/interrupt.h"
#include "core/memory_budget.h"

namespace {

/// The "Usage: ..." line of the deepest subcommand parsed so far.
std::string usage_line(CLI::App& app) {
  CLI::App* node = &app;
  std::string path = app.get_name();
  for (;;) {
    auto parsed = node->get_subcommands();
    if (parsed.empty()) break;
    node = parsed.front();
    path += " " + node->get_name();
  }
  // CLI11 names only the subcommand in its usage line; users type the whole path.
  std::istringstream help(node->help());
  std::string line;
  while (std::getline(help, line))
    if (line.rfind("Usage:", 0) == 0)
      return "Usage: " + path + line.substr(line.find(node->get_name()) + node->get_name().size());
  return "Usage: dgm COMMAND [OPTIONS]";
}

/// Gives every command that runs (the leaves of the tree) the same
/// --memory-limit option, declared once here.
void add_memory_limit_option(CLI::App& app, std::string& limit) {
  auto children = app.get_subcommands([](CLI::App*) { return true; });
  if (children.empty()) {
    app.add_option("--memory-limit", limit,
                   "Most memory dgm may ask for before it refuses a size (e.g. 8G, 512M; default 80% of what this "
                   "process may use)");
    return;
  }
  for (CLI::App* child : children) add_memory_limit_option(*child, limit);
}

}  // namespace

int main(int argc, char** argv) {
  dgm::keep_freed_memory();
  // Past a file size limit (ulimit -f) a write fails with EFBIG, which dgm
  // reports like a full disk, instead of the signal killing it mid-write.
  std::signal(SIGXFSZ, SIG_IGN);
  dgm::install_interrupt_handler();
  CLI::App app{"dgm: deep latent variable generative models (VAE, IWAE, mixtures) on LibTorch", "dgm"};
  app.set_version_flag("--version", std::string("dgm ") + DGM_VERSION);
  app.require_subcommand(1);
  app.fallthrough(false);
  std::vector<dgm::Command> commands{
      dgm::add_train_command(app),       dgm::add_eval_command(app),    dgm::add_sample_command(app),
      dgm::add_estimate_command(app),    dgm::add_inpaint_command(app), dgm::add_gmm_command(app),
      dgm::add_export_command(app),      dgm::add_import_command(app),  dgm::add_config_command(app),
      dgm::add_attributes_command(app),  dgm::add_edit_command(app),    dgm::add_traverse_command(app),
      dgm::add_interpolate_command(app), dgm::add_probe_command(app),   dgm::add_bdmc_command(app)};
  std::string memory_limit;
  for (auto& command : commands) add_memory_limit_option(*command.app, memory_limit);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    fmt::print(stderr, "error: {}\n{}\nRun with --help for the full list of options.\n", e.what(), usage_line(app));
    return 2;
  }
  try {
    if (!memory_limit.empty()) dgm::set_memory_limit(dgm::parse_memory_size(memory_limit));
    for (auto& command : commands)
      if (command.app->parsed()) return command.run();
  } catch (const dgm::UsageError& e) {
    fmt::print(stderr, "error: {}\n{}\nRun with --help for the full list of options.\n", e.what(), usage_line(app));
    return 2;
  } catch (const dgm::Error& e) {
    fmt::print(stderr, "error: {}\n", e.what());
    return 1;
  } catch (const c10::Error& e) {
    fmt::print(stderr, "error (LibTorch): {}\n", dgm::first_line(e.what_without_backtrace()));
    return 1;
  } catch (const std::exception& e) {
    fmt::print(stderr, "error: {}\n", e.what());
    return 1;
  }
  return 2;
}
