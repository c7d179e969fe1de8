// dgm import: weights trained elsewhere (a Python state dict or safetensors)
// into the native architecture a config describes, written as a run
// directory, so that eval, sample, estimate, inpaint and export work on it
// exactly as on a run of dgm train.

#include <fmt/format.h>
#include <torch/torch.h>

#include <filesystem>

#include "apps/cli_common.h"
#include "core/dataset.h"
#include "core/device.h"
#include "core/error.h"
#include "models/foreign_weights.h"
#include "models/model_registry.h"
#include "trainers/checkpoint.h"
#include "trainers/config.h"
#include "trainers/run_directory.h"

namespace dgm {
namespace {
namespace fs = std::filesystem;

struct ImportArgs {
  std::string config;
  std::vector<std::string> sets;
  std::string weights;
  std::vector<std::string> renames;
  std::string key;
  std::string out;
  bool quiet = false;
};

int run_import(const ImportArgs& args) {
  if (fs::exists(last_checkpoint_path(args.out)) || fs::exists(best_checkpoint_path(args.out)))
    fail("{} already holds a run; choose another directory with --out", args.out);
  Config config = load_config(args.config, args.sets);
  // The data fixes the model's input size and the pictures' shape.
  ImageSet data = load_images(config.data, Split::kTrain);
  std::shared_ptr<TrainableModel> model = create_model(config.model, data.shape());
  model->to(to_dtype(config.train.runtime.dtype));
  const LoadedWeights loaded = load_foreign_weights(*model, args.weights, args.renames, args.key);
  if (!args.quiet)
    for (const auto& line : loaded.lines) fmt::print(stderr, "  {}\n", line);
  for (const auto& warning : loaded.warnings) fmt::print(stderr, "{}\n", warning);
  fs::create_directories(args.out);
  write_run_files(args.out, config, data.shape());
  save_checkpoint(best_checkpoint_path(args.out), *model, nullptr, TrainingState{});
  fmt::print("{} tensors of {} imported into {}; run written to {} (try: dgm eval --run {})\n", loaded.lines.size(),
             args.weights, model->describe(), args.out, args.out);
  return 0;
}

}  // namespace

Command add_import_command(CLI::App& parent) {
  auto args = std::make_shared<ImportArgs>();
  CLI::App* app = parent.add_subcommand(
      "import", "Make a run directory from weights trained elsewhere: a Python state dict or a safetensors file");
  app->add_option("--config,-c", args->config, "The config whose model.* describes the architecture")->required();
  app->add_option("--set", args->sets, "Override a config key, KEY=VALUE (repeatable)");
  app->add_option("--weights,-w", args->weights,
                  "torch.save(model.state_dict(), PATH) from Python (or a checkpoint dict, with --key), or a "
                  ".safetensors file")
      ->required()
      ->check(CLI::ExistingFile);
  app->add_option("--rename", args->renames, "Rewrite a name prefix of the file first, OLD=NEW (repeatable)");
  app->add_option("--key", args->key,
                  "The entry of a checkpoint dict that holds the state dict, e.g. model_state_dict");
  app->add_option("--out,-o", args->out, "The run directory to write")->required();
  app->add_flag("--quiet,-q", args->quiet, "Do not list how the tensors were matched");
  return {app, [args] { return run_import(*args); }};
}

}  // namespace dgm
