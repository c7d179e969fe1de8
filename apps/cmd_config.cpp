// dgm config: print a resolved config with every key, so users see the
// defaults and what their file and --set overrides give.

#include <fmt/format.h>

#include "apps/cli_common.h"
#include "trainers/config.h"

namespace dgm {
namespace {

struct ConfigArgs {
  std::string config;
  std::vector<std::string> sets;
  bool keys = false;
  bool plain = false;
};

int run_config(const ConfigArgs& args) {
  if (args.keys) {
    fmt::print("{}", describe_config_keys());
    return 0;
  }
  const Config config =
      args.config.empty() ? parse_config("", "(defaults)", args.sets) : load_config(args.config, args.sets);
  fmt::print("{}", config_to_yaml(config, !args.plain));
  return 0;
}

}  // namespace

Command add_config_command(CLI::App& parent) {
  auto args = std::make_shared<ConfigArgs>();
  CLI::App* app = parent.add_subcommand("config", "Print the resolved config (every key, defaults filled in)");
  app->add_option("--config,-c", args->config, "YAML config (default: none, all defaults)")->check(CLI::ExistingFile);
  app->add_option("--set", args->sets, "Override a config key: --set KEY=VALUE (repeatable)");
  app->add_flag("--keys", args->keys, "List every key of every model type: default, description and valid values");
  app->add_flag("--plain", args->plain, "Without the comments that describe each key");
  return {app, [args] { return run_config(*args); }};
}

}  // namespace dgm
