// dgm inpaint: hide part of test images, bound log p(x_observed), and draw
// completions of the hidden part from p(z | x_observed).

#include <torch/torch.h>

#include <cmath>

#include "apps/cli_common.h"
#include "apps/subject.h"
#include "core/error.h"
#include "core/masks.h"
#include "core/numerics.h"
#include "core/png_grid.h"
#include "core/random.h"
#include "estimators/importance_resampling.h"
#include "estimators/iwae_bound.h"
#include "models/generation.h"

namespace dgm {
namespace {

struct InpaintArgs {
  SubjectOptions subject;
  std::string mask = "top-half";
  int64_t k = 1000;
  int64_t completions = 6;
  int64_t chunk = 250;
  int64_t seed = 0;
  std::string out;
};

int run_inpaint(InpaintArgs args) {
  args.subject.seed = static_cast<uint64_t>(args.seed);
  Subject subject = load_subject(args.subject);
  if (subject.image_shape.empty()) fail("dgm inpaint needs pictures; these examples have no picture shape");
  LatentVariableModel& model = *subject.model;
  const auto& x = subject.x;
  const auto mask =
      make_mask(args.mask, x.size(0), x.size(1), subject.image_shape, derive_seed(*args.subject.seed, 4), x.options());
  if (mask.sum().item<double>() == static_cast<double>(mask.numel()))
    fail("mask '{}' hides nothing: choose top-half, bottom-half or random:P", args.mask);

  torch::NoGradGuard no_grad;
  seed_everything(derive_seed(*args.subject.seed, 6));
  EstimatorOptions options;
  options.k = args.k;
  options.chunk = args.chunk;
  const MeanAndError bound = mean_and_error(iwae_bound(model, x, options, mask));

  auto z = importance_resample(model, x, options, args.completions, mask);  // [m, B, latent]
  auto filled = model.likelihood(z)->mean();                                // [m, B, D]
  auto completions = mask * x + (1 - mask) * filled;                        // observed pixels kept
  // Each row: the original, what the model sees (hidden pixels grey), completions.
  auto shown = mask * x + (1 - mask) * 0.5;
  auto rows = torch::cat({x.unsqueeze(0), shown.unsqueeze(0), completions}, 0).transpose(0, 1);  // [B, 2 + m, D]
  write_png_grid(args.out, rows.reshape({-1, x.size(1)}), subject.image_shape, 2 + args.completions);

  fmt::print("model        {}\n", subject.description);
  fmt::print("mask         {} ({:.0f}% of the entries hidden), {} test examples\n", args.mask,
             100.0 * (1.0 - mask.mean().item<double>()), x.size(0));
  fmt::print("log p(x_obs) IWAE-{} bound: {:.3f} ± {:.3f} nats per example\n", args.k, bound.mean,
             bound.standard_error);
  fmt::print("completions  {} per example, by importance resampling from {} proposals: {}\n", args.completions, args.k,
             args.out);
  fmt::print("             (each row: original, observed part with hidden pixels grey, completions)\n");
  return 0;
}

}  // namespace

Command add_inpaint_command(CLI::App& parent) {
  auto args = std::make_shared<InpaintArgs>();
  CLI::App* app =
      parent.add_subcommand("inpaint", "Hide part of test images, bound log p(x_observed), draw completions");
  add_subject_options(*app, args->subject, 8);
  app->add_option("--mask", args->mask, "Hidden part: top-half, bottom-half or random:P (default top-half)");
  app->add_option("--k", args->k, "Importance samples per image (default 1000)")->check(cli_check(between(1, 1 << 24)));
  app->add_option("--completions", args->completions, "Completions drawn per image (default 6)")
      ->check(cli_check(between(1, 64)));
  app->add_option("--chunk", args->chunk, "Samples drawn at once (default 250)")->check(cli_check(at_least(1)));
  app->add_option("--seed", args->seed, "Seed (default 0)")->check(cli_check(at_least(0)));
  app->add_option("--out,-o", args->out, "Output PNG")->required();
  return {app, [args] { return run_inpaint(*args); }};
}

}  // namespace dgm
