// dgm export: a trained run's weights in a format other tools read.

#include <torch/torch.h>

#include "apps/cli_common.h"
#include "core/error.h"
#include "core/safetensors.h"
#include "models/module_state.h"
#include "trainers/run_directory.h"

namespace dgm {
namespace {

struct ExportArgs {
  std::string run;
  std::string format = "safetensors";
  std::string out;
};

int run_export(const ExportArgs& args) {
  LoadedRun run = load_run(args.run, torch::Device(torch::kCPU));
  const NamedTensors state = module_state(*run.model);
  write_safetensors(args.out, state,
                    {{"format", "dgm"},
                     {"dgm_version", DGM_VERSION},
                     {"model", run.config.model.type},
                     {"config", config_to_yaml(run.config)}});
  fmt::print("{} tensors of {} ({}) written to {}\n", state.size(), args.run, run.checkpoint, args.out);
  return 0;
}

}  // namespace

Command add_export_command(CLI::App& parent) {
  auto args = std::make_shared<ExportArgs>();
  CLI::App* app = parent.add_subcommand("export", "Write a run's weights as safetensors (names as in the model)");
  app->add_option("--run,-r", args->run, "Run directory written by dgm train")->required();
  app->add_option("--format", args->format, "safetensors (default)")->check(CLI::IsMember({"safetensors"}));
  app->add_option("--out,-o", args->out, "Output file, e.g. model.safetensors")->required();
  return {app, [args] { return run_export(*args); }};
}

}  // namespace dgm
