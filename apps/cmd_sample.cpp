// dgm sample: a PNG grid of new examples from a trained run, or from a
// TorchScript encoder/decoder pair trained elsewhere.

#include <torch/torch.h>

#include "apps/cli_common.h"
#include "apps/pictures.h"
#include "apps/subject.h"
#include "core/dataset.h"
#include "core/device.h"
#include "core/error.h"
#include "core/png_grid.h"
#include "core/random.h"
#include "trainers/gmm_em.h"

namespace dgm {
namespace {

struct SampleArgs {
  SubjectOptions subject;
  int64_t n = 64;
  std::string out;
  int64_t seed = 0;
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

int run_sample(SampleArgs args) {
  const int64_t components = mixture_components(args.latent_sampler);
  // A run knows its picture shape: its examples are only loaded for gmm:K's codes.
  args.subject.need_examples = args.subject.run.empty();
  Subject loaded = load_subject(args.subject);
  LatentVariableModel& model = *loaded.model;
  const auto& image_shape = loaded.image_shape;
  if (image_shape.empty())
    fail("the examples ({} values) have no picture shape, so they cannot be drawn as PNG", model.data_dim());
  if (components == 0) {
    seed_everything(static_cast<uint64_t>(args.seed));
    write_samples_png(model, args.n, image_shape, args.out);
    fmt::print("{} samples from the prior written to {}\n", args.n, args.out);
    return 0;
  }
  // Ex-post density estimation (as pythae's GaussianMixtureSampler): a mixture
  // fitted to the encoder means of the training images replaces the prior, so
  // z comes from where the decoder was trained, not from the prior's holes.
  const torch::Tensor train = loaded.training_examples();
  torch::Tensor codes;
  {
    torch::NoGradGuard no_grad;
    std::vector<torch::Tensor> parts;
    for (int64_t start = 0; start < train.size(0); start += 1000)
      parts.push_back(model.proposal(train.slice(0, start, start + 1000))->mean());
    codes = torch::cat(parts).to(torch::kFloat64);
  }
  EmOptions options;
  options.components = components;
  options.seed = static_cast<uint64_t>(args.seed);
  EmResult fit = fit_gaussian_mixture(codes, options);
  seed_everything(static_cast<uint64_t>(args.seed));
  auto z = fit.mixture.sample(args.n).first.to(codes.device(), train.scalar_type());
  torch::NoGradGuard no_grad;
  auto pictures = model.likelihood(z.unsqueeze(0))->mean()[0];
  write_png_grid(args.out, pictures, image_shape);
  fmt::print(
      "{} samples from a {}-component mixture fitted to the encoder means of {} training images ({} EM "
      "iterations, {}) written to {}\n",
      args.n, components, train.size(0), fit.n_iter, fit.converged ? "converged" : "not converged", args.out);
  return 0;
}

}  // namespace

Command add_sample_command(CLI::App& parent) {
  auto args = std::make_shared<SampleArgs>();
  CLI::App* app = parent.add_subcommand("sample", "Draw new examples from a model as a PNG grid");
  add_subject_options(*app, args->subject, 0, "--limit");
  app->add_option("--n", args->n, "Number of samples (default: 64)")->check(cli_check(between(1, 10000)));
  app->add_option("--out,-o", args->out, "Output PNG file")->required();
  app->add_option("--seed", args->seed, "Seed of the draw (default: 0)")->check(cli_check(at_least(0)));
  app->add_option("--latent-sampler", args->latent_sampler,
                  "prior (default) or gmm:K: z from a K-component Gaussian mixture fitted to the codes of the "
                  "training examples");
  return {app, [args] { return run_sample(*args); }};
}

}  // namespace dgm
