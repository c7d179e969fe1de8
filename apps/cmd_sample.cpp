// dgm sample: a PNG grid of new examples from a trained run.

#include <torch/torch.h>

#include "apps/cli_common.h"
#include "apps/pictures.h"
#include "apps/run_directory.h"
#include "core/dataset.h"
#include "core/device.h"
#include "core/error.h"
#include "core/png_grid.h"
#include "core/random.h"
#include "trainers/gmm_em.h"

namespace dgm {
namespace {

struct SampleArgs {
  std::string run;
  int64_t n = 64;
  std::string out;
  int64_t seed = 0;
  std::string device;
  std::string latent_sampler = "prior";
};

/// "gmm:K" -> K; "prior" -> 0.
int64_t mixture_components(const std::string& sampler) {
  if (sampler == "prior") return 0;
  if (sampler.rfind("gmm:", 0) == 0) {
    try {
      std::size_t used = 0;
      const int64_t k = std::stoll(sampler.substr(4), &used);
      if (used == sampler.size() - 4 && k >= 1) return k;
    } catch (const std::exception&) {
    }
  }
  fail("--latent-sampler {}: use prior or gmm:K with K >= 1 components", sampler);
}

int run_sample(const SampleArgs& args) {
  const torch::Device device = prepare_device(args.device.empty() ? "auto" : args.device, 0);
  LoadedRun run = load_run(args.run, device);
  if (run.metadata.image_shape.empty())
    fail("the run's examples ({} values) have no picture shape, so they cannot be drawn as PNG", run.metadata.data_dim);
  const int64_t components = mixture_components(args.latent_sampler);
  if (components == 0) {
    seed_everything(static_cast<uint64_t>(args.seed));
    write_samples_png(*run.model, args.n, run.metadata.image_shape, args.out);
    fmt::print("{} samples from the prior written to {}\n", args.n, args.out);
    return 0;
  }
  // Ex-post density estimation (as pythae's GaussianMixtureSampler): a mixture
  // fitted to the encoder means of the training images replaces N(0, I), so z
  // comes from where the decoder was trained, not from the prior's holes.
  ImageSet train = load_images(run.config.data, "train").to(device, resolve_dtype(run.config.train.dtype));
  torch::Tensor codes;
  {
    torch::NoGradGuard no_grad;
    std::vector<torch::Tensor> parts;
    for (int64_t start = 0; start < train.size(); start += 1000)
      parts.push_back(run.model->encode(train.x.slice(0, start, start + 1000)).loc());
    codes = torch::cat(parts).to(torch::kFloat64);
  }
  EmOptions options;
  options.components = components;
  options.seed = static_cast<uint64_t>(args.seed);
  EmResult fit = fit_gaussian_mixture(codes, options);
  seed_everything(static_cast<uint64_t>(args.seed));
  auto z = fit.mixture.sample(args.n).first.to(codes.device(), resolve_dtype(run.config.train.dtype));
  torch::NoGradGuard no_grad;
  auto pictures = run.model->likelihood(z.unsqueeze(0))->mean()[0];
  write_png_grid(args.out, pictures, run.metadata.image_shape);
  fmt::print(
      "{} samples from a {}-component mixture fitted to the encoder means of {} training images ({} EM "
      "iterations, {}) written to {}\n",
      args.n, components, train.size(), fit.n_iter, fit.converged ? "converged" : "not converged", args.out);
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
  app->add_option("--latent-sampler", args->latent_sampler,
                  "prior (default) or gmm:K: z from a K-component Gaussian mixture fitted to the training codes");
  add_device_option(*app, args->device);
  return {app, [args] { return run_sample(*args); }};
}

}  // namespace dgm
