// dgm sample: a PNG grid of new examples from a trained run, or from a
// TorchScript encoder/decoder pair trained elsewhere.

#include <torch/torch.h>

#include "apps/cli_common.h"
#include "apps/estimation_subject.h"
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
  std::string encoder, decoder, likelihood = "bernoulli", data;
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

/// The model to sample, its picture shape, and the examples its codes come
/// from for gmm:K: a run's training images, or --data for a TorchScript pair.
struct SampleSubject {
  std::shared_ptr<void> owner;
  LatentVariableModel* model = nullptr;
  std::vector<int64_t> image_shape;
  torch::Tensor train;  ///< loaded only for gmm:K
};

SampleSubject sample_subject(const SampleArgs& args, const torch::Device& device, bool need_train) {
  SampleSubject out;
  if (!args.run.empty()) {
    auto run = std::make_shared<LoadedRun>(load_run(args.run, device));
    out.model = run->model.get();
    out.image_shape = run->metadata.image_shape;
    if (need_train)
      out.train = load_images(run->config.data, "train").x.to(device, resolve_dtype(run->config.train.dtype));
    out.owner = run;
    return out;
  }
  SubjectOptions options;
  options.encoder = args.encoder;
  options.decoder = args.decoder;
  options.likelihood = args.likelihood;
  options.data = args.data;
  options.n = 0;  // every example of --data
  options.device = device.str();
  auto subject = std::make_shared<EstimationSubject>(load_subject(options));
  out.model = subject->model;
  out.image_shape = subject->image_shape;
  out.train = subject->x;
  out.owner = subject;
  return out;
}

int run_sample(const SampleArgs& args) {
  if (args.run.empty() == args.encoder.empty())
    fail("dgm sample needs --run DIR, or --encoder ENC.pt --decoder DEC.pt --data PATH (one of the two)");
  const torch::Device device = prepare_device(args.device.empty() ? "auto" : args.device, 0);
  const int64_t components = mixture_components(args.latent_sampler);
  SampleSubject loaded = sample_subject(args, device, components > 0);
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
  const torch::Tensor& train = loaded.train;
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
  CLI::App* app = parent.add_subcommand("sample", "Draw new examples from a trained model as a PNG grid");
  auto* run = app->add_option("--run,-r", args->run, "Run directory written by dgm train");
  app->add_option("--encoder", args->encoder, "TorchScript encoder (with --decoder and --data; see dgm eval --help)")
      ->excludes(run);
  app->add_option("--decoder", args->decoder, "TorchScript decoder")->excludes(run);
  app->add_option("--likelihood", args->likelihood, "Of the TorchScript decoder: bernoulli (default) or gaussian")
      ->check(CLI::IsMember({"bernoulli", "gaussian"}));
  app->add_option("--data", args->data,
                  "With --encoder: examples (IDX or NPY) that give the picture shape, and the codes for gmm:K");
  app->add_option("--n", args->n, "Number of samples (default: 64)")->check(CLI::Range(1, 10000));
  app->add_option("--out,-o", args->out, "Output PNG file")->required();
  app->add_option("--seed", args->seed, "Seed of the draw (default: 0)")->check(at_least(0));
  app->add_option("--latent-sampler", args->latent_sampler,
                  "prior (default) or gmm:K: z from a K-component Gaussian mixture fitted to the training codes");
  add_device_option(*app, args->device);
  return {app, [args] { return run_sample(*args); }};
}

}  // namespace dgm
