// dgm: deep latent variable generative models on LibTorch.
// Parses the command line, runs one subcommand, maps errors to exit statuses:
// 0 success, 1 a failure the message explains, 2 a usage error, 130 Ctrl-C
// (143 SIGTERM; core/interrupt.h).

#include <c10/util/Exception.h>
#include <fmt/format.h>
#include <torch/cuda.h>
#include <torch/version.h>
#include <CLI/CLI.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <sstream>

#include "apps/cli_common.h"
#include "core/device.h"
#include "core/error.h"
#include "core/interrupt.h"
#include "core/memory_budget.h"
#include "core/process_group.h"

namespace {

/// `dgm --version`: the version and what this build can use, so a report
/// of a problem (or a GPU check) says which build it ran.
std::string version_text() {
  return fmt::format("dgm {} (LibTorch {}; CUDA: {}; process groups: {})", DGM_VERSION, TORCH_VERSION,
                     torch::cuda::is_available() ? fmt::format("{} device(s)", torch::cuda::device_count()) : "none",
                     !dgm::process_groups_available() ? "none, one process only"
                     : dgm::nccl_available()          ? "Gloo (CPU tensors), NCCL (CUDA tensors)"
                                                      : "Gloo");
}

/// The deepest subcommand parsed so far, and its path ("dgm gmm fit").
std::pair<CLI::App*, std::string> parsed_command(CLI::App& app) {
  CLI::App* node = &app;
  std::string path = app.get_name();
  for (;;) {
    auto parsed = node->get_subcommands();
    if (parsed.empty()) break;
    node = parsed.front();
    path += " " + node->get_name();
  }
  return {node, path};
}

/// The "Usage: ..." line of the deepest subcommand parsed so far.
std::string usage_line(CLI::App& app) {
  auto [node, path] = parsed_command(app);
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

/// Started as one of several processes (torchrun, or WORLD_SIZE > 1 from a
/// scheduler): joins the process group when the command can use it, or says
/// it cannot. Every process but rank 0 prints nothing on stdout (the
/// results are rank 0's); errors still reach stderr from each.
void join_processes_if_asked(const dgm::Command& command, const std::string& path) {
  const auto environment = dgm::process_group_environment();
  if (!environment) return;
  if (!command.distributed || !command.distributed())
    dgm::fail(
        "{} runs as one process, but it was started as rank {} of WORLD_SIZE = {} (torchrun or a scheduler): run it "
        "without them; dgm train, dgm eval, dgm estimate and dgm gmm fit run as several processes",
        path, environment->rank, environment->world_size);
  dgm::Collectives& group = dgm::join_process_group();
  if (group.rank() > 0) {
    std::fflush(stdout);
    const int null = ::open("/dev/null", O_WRONLY);
    if (null >= 0) {
      ::dup2(null, STDOUT_FILENO);
      ::close(null);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  dgm::keep_freed_memory();
  // Past a file size limit (ulimit -f) a write fails with EFBIG, which dgm
  // reports like a full disk, instead of the signal killing it mid-write.
  std::signal(SIGXFSZ, SIG_IGN);
  dgm::install_interrupt_handler();
  CLI::App app{"dgm: deep latent variable generative models (VAE, IWAE, mixtures) on LibTorch", "dgm"};
  app.set_version_flag("--version", std::function<std::string()>(version_text));
  app.require_subcommand(1);
  app.fallthrough(false);
  std::vector<dgm::Command> commands{
      dgm::add_train_command(app),       dgm::add_eval_command(app),    dgm::add_sample_command(app),
      dgm::add_estimate_command(app),    dgm::add_inpaint_command(app), dgm::add_gmm_command(app),
      dgm::add_export_command(app),      dgm::add_import_command(app),  dgm::add_config_command(app),
      dgm::add_attributes_command(app),  dgm::add_edit_command(app),    dgm::add_traverse_command(app),
      dgm::add_interpolate_command(app), dgm::add_probe_command(app),   dgm::add_bdmc_command(app),
      dgm::add_plot_command(app)};
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
      if (command.app->parsed()) {
        join_processes_if_asked(command, parsed_command(app).second);
        return command.run();
      }
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
