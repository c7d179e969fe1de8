// dgm sample: a PNG grid of new examples from a trained run.

#include <torch/torch.h>

#include "apps/cli_common.h"
#include "apps/pictures.h"
#include "apps/run_directory.h"
#include "core/error.h"
#include "core/random.h"

namespace dgm {
namespace {

struct SampleArgs {
  std::string run;
  int64_t n = 64;
  std::string out;
  int64_t seed = 0;
  std::string device;
};

int run_sample(const SampleArgs& args) {
  const torch::Device device = prepare_device(args.device.empty() ? "auto" : args.device, 0);
  LoadedRun run = load_run(args.run, device);
  if (run.metadata.image_shape.empty())
    fail("the run's examples ({} values) have no picture shape, so they cannot be drawn as PNG", run.metadata.data_dim);
  seed_everything(static_cast<uint64_t>(args.seed));
  write_samples_png(*run.model, args.n, run.metadata.image_shape, args.out);
  fmt::print("{} samples written to {}\n", args.n, args.out);
  return 0;
}

}  // namespace

Command add_sample_command(CLI::App& parent) {
  auto args = std::make_shared<SampleArgs>();
  CLI::App* app = parent.add_subcommand("sample", "Draw new examples from a trained run as a PNG grid");
  app->add_option("--run,-r", args->run, "Run directory written by dgm train")->required();
  app->add_option("--n", args->n, "Number of samples (default: 64)")->check(CLI::Range(1, 10000));
  app->add_option("--out,-o", args->out, "Output PNG file")->required();
  app->add_option("--seed", args->seed, "Seed of the draw (default: 0)")->check(CLI::NonNegativeNumber);
  add_device_option(*app, args->device);
  return {app, [args] { return run_sample(*args); }};
}

}  // namespace dgm
