// dgm train: config -> data -> model -> trainer -> run directory.

#include <torch/torch.h>

#include <filesystem>
#include <optional>

#include "apps/cli_common.h"
#include "apps/pictures.h"
#include "core/dataset.h"
#include "core/device.h"
#include "core/directory_lock.h"
#include "core/error.h"
#include "core/interrupt.h"
#include "core/process_group.h"
#include "core/random.h"
#include "models/model_registry.h"
#include "trainers/config.h"
#include "trainers/run_directory.h"
#include "trainers/trainer.h"

namespace dgm {
namespace fs = std::filesystem;

namespace {

struct TrainArgs {
  std::string config;
  std::vector<std::string> sets;
  std::string out;
  std::string device;
  bool resume = false;
  bool quiet = false;
};

std::string default_out_dir(const std::string& config_path) {
  return (fs::path("runs") / fs::path(config_path).stem()).string();
}

int run_train(const TrainArgs& args) {
  const std::string out = args.out.empty() ? default_out_dir(args.config) : args.out;
  std::string config_path = args.config;
  if (args.resume && config_path.empty()) config_path = (fs::path(out) / "config.yaml").string();
  if (config_path.empty()) fail("dgm train needs --config FILE (e.g. configs/vae.yaml), or --resume with --out DIR");
  if (!args.resume && fs::exists(last_checkpoint_path(out)))
    fail("{} already holds a run; continue it with --resume, or choose another directory with --out", out);

  Config config = load_config(config_path, args.sets);
  if (!args.device.empty()) config.train.runtime.device = args.device;
  Collectives& processes = process_group();
  const torch::Device device = prepare_device(config.train.runtime.device, config.train.runtime.threads);
  // Before the data loads: a second dgm on this directory refuses at once.
  // Rank 0 alone writes the run directory, and holds its lock.
  std::optional<DirectoryLock> lock;
  if (processes.is_main()) {
    lock.emplace(out, "run directory");
    remove_stale_temporaries_of(out);
  }

  const torch::Dtype dtype = to_dtype(config.train.runtime.dtype);
  ImageSet all = load_images(config.data, Split::kTrain).to(device, dtype);
  TrainValidation data = training_data(config, all);

  RunTraining training(out, config, all, data, args.resume, !args.quiet, processes);
  const TrainableModel& model = *training.model();
  const Trainer& trainer = training.trainer();
  const std::string labelled =
      trainer.objective().takes_labels() ? fmt::format(" ({} labelled)", data.train.labelled()) : "";
  const std::string together = processes.size() > 1 ? fmt::format(" as {} processes", processes.size()) : "";
  if (processes.is_main())
    fmt::print(stderr, "training {} {} on {} examples{} of {} ({} for validation), device {}{}, run {}\n",
               model.describe(), model.fits_in_closed_form() ? "in closed form" : "with " + trainer.objective().name(),
               data.train.size(), labelled, all.source, data.validation.size(), device.str(), together, out);
  const TrainResult result = training.fit();
  if (!processes.is_main()) return result.interrupted ? interrupted_exit_status() : 0;
  if (result.interrupted) {
    fmt::print(stderr, "stopped at step {}; checkpoint saved to {}. Continue with: dgm train --resume --out {}\n",
               result.step, last_checkpoint_path(out), out);
    return interrupted_exit_status();
  }

  LoadedRun trained = load_run(out, device);
  const std::string samples = (fs::path(out) / "samples.png").string();
  const std::string reconstructions = (fs::path(out) / "reconstructions.png").string();
  if (all.image_shape.empty()) {
    fmt::print(stderr, "examples of {} values have no picture shape: no PNG grids written\n", all.dim());
  } else {
    seed_everything(derive_seed(config.train.trainer.seed, 0x5a3b1e));
    write_samples_png(*trained.model, 64, all.image_shape, samples);
    write_reconstructions_png(*trained.model, data.validation.x.slice(0, 0, 32), all.image_shape, reconstructions);
    if (RunTensorBoard* tensorboard = training.tensorboard()) {
      tensorboard->add_picture("samples", samples, result.step);
      tensorboard->add_picture("reconstructions", reconstructions, result.step);
    }
  }
  fmt::print("run directory: {}\n", out);
  fmt::print("  best validation {}: {:.3f} nats (checkpoint {})\n", trainer.objective().name(), result.best_validation,
             trained.checkpoint);
  fmt::print("  metrics:              {}\n", (fs::path(out) / "metrics.jsonl").string());
  if (training.tensorboard() != nullptr)
    fmt::print("  tensorboard:          {} (tensorboard --logdir {})\n", training.tensorboard()->path(), out);
  if (!all.image_shape.empty()) {
    fmt::print("  samples:              {}\n", samples);
    fmt::print("  reconstructions:      {}\n", reconstructions);
  }
  return 0;
}

}  // namespace

Command add_train_command(CLI::App& parent) {
  auto args = std::make_shared<TrainArgs>();
  CLI::App* app = parent.add_subcommand("train", "Train a model from a YAML config and write a run directory");
  app->add_option("--config,-c", args->config, "YAML config, e.g. configs/vae.yaml")->check(CLI::ExistingFile);
  app->add_option("--set", args->sets, "Override a config key: --set KEY=VALUE (repeatable), e.g. train.epochs=5")
      ->take_all();
  app->add_option("--out,-o", args->out, "Run directory (default: runs/<config name>)");
  add_device_option(*app, args->device);
  app->add_flag("--resume", args->resume, "Continue the run in --out from its last checkpoint");
  app->add_flag("--quiet,-q", args->quiet, "No progress output");
  return {app, [args] { return run_train(*args); }, [] { return true; }};
}

}  // namespace dgm
