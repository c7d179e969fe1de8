// dgm bdmc: bidirectional Monte Carlo (Grosse et al. 2015) on data simulated
// from the model: forward AIS bounds log p(x) from below, reverse AIS from
// the exact latent that made x bounds it from above; the gap says whether T
// intermediate distributions are enough, and is the error bar of AIS at the
// same T on real data (Grosse et al. 2016, Wu et al. 2017).

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <chrono>

#include "apps/cli_common.h"
#include "apps/subject.h"
#include "core/numerics.h"
#include "core/random.h"
#include "estimators/ais.h"
#include "estimators/exact_marginal.h"

namespace dgm {
namespace {

struct BdmcArgs {
  SubjectOptions subject;
  AisOptions ais;
  int64_t n = 100;
  int64_t batch_size = 100;
  int64_t chunk = 0;
  int64_t seed = 0;
  bool json = false;
  bool per_example = false;
};

/// n pairs (x, z) from the model: z ~ p(z), x ~ p(x | z).
std::pair<torch::Tensor, torch::Tensor> simulate(LatentVariableModel& model, int64_t n) {
  torch::NoGradGuard no_grad;
  auto z = model.prior(n)->sample(1);  // [1, n, D]
  auto x = model.likelihood(z)->sample(1).reshape({n, model.data_dim()});
  return {x, z.squeeze(0)};
}

int run_bdmc(BdmcArgs args) {
  args.subject.need_examples = args.subject.run.empty();
  Subject subject = load_subject(args.subject);
  LatentVariableModel& model = *subject.model;
  if (!ais_applies(model)) fail("dgm bdmc: AIS does not apply to {}: it needs a continuous latent", model.describe());
  seed_everything(derive_seed(static_cast<uint64_t>(args.seed), 6));
  auto [x, z] = simulate(model, args.n);
  EstimatorOptions options;
  options.ais = args.ais;
  options.chunk = args.chunk;
  options.seed = derive_seed(static_cast<uint64_t>(args.seed), 7);
  std::vector<torch::Tensor> lower, upper;
  BandAcceptance forward_acceptance, reverse_acceptance;
  const auto start = std::chrono::steady_clock::now();
  for (int64_t first = 0; first < args.n; first += args.batch_size) {
    const int64_t end = std::min(args.n, first + args.batch_size);
    options.first_example = first;
    BdmcResult result = bidirectional_monte_carlo(model, x.slice(0, first, end), z.slice(0, first, end), options);
    lower.push_back(result.lower.to(torch::kFloat64).cpu());
    upper.push_back(result.upper.to(torch::kFloat64).cpu());
    forward_acceptance.add(result.forward.acceptance);
    reverse_acceptance.add(result.reverse_acceptance);
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  auto lower_all = torch::cat(lower), upper_all = torch::cat(upper);
  auto gap = upper_all - lower_all;
  const MeanAndError low = mean_and_error(lower_all), high = mean_and_error(upper_all), width = mean_and_error(gap);
  std::optional<double> exact;  // where the model has it: the truth the bounds bracket
  if (has_exact_marginal(model)) {
    torch::NoGradGuard no_grad;
    exact = exact_log_marginal(model, x).to(torch::kFloat64).mean().item<double>();
  }
  if (args.json) {
    nlohmann::json out{{"model", subject.description},
                       {"n", args.n},
                       {"ais_steps", args.ais.ais_steps},
                       {"chains", args.ais.chains},
                       {"leapfrog", args.ais.leapfrog},
                       {"ais_init", to_string(args.ais.ais_init)},
                       {"ais_schedule", to_string(args.ais.ais_schedule)},
                       {"lower", low.mean},
                       {"lower_stderr", low.standard_error},
                       {"upper", high.mean},
                       {"upper_stderr", high.standard_error},
                       {"gap", width.mean},
                       {"gap_stderr", width.standard_error},
                       {"exact", exact ? nlohmann::json(*exact) : nlohmann::json()},
                       {"forward_acceptance", forward_acceptance.overall()},
                       {"reverse_acceptance", reverse_acceptance.overall()},
                       {"seconds", seconds}};
    if (args.per_example) {
      out["lower_per_example"] =
          std::vector<double>(lower_all.data_ptr<double>(), lower_all.data_ptr<double>() + args.n);
      out["upper_per_example"] =
          std::vector<double>(upper_all.data_ptr<double>(), upper_all.data_ptr<double>() + args.n);
    }
    print_json(out);
    return 0;
  }
  fmt::print("model      {}\n", subject.description);
  fmt::print("data       {} examples simulated from the model (x ~ p(x | z), z ~ p(z)), seed {}\n", args.n, args.seed);
  fmt::print("AIS        T = {} ({} schedule), {} chains, {} leapfrog steps, from the {}\n", args.ais.ais_steps,
             to_string(args.ais.ais_schedule), args.ais.chains, args.ais.leapfrog, to_string(args.ais.ais_init));
  if (args.per_example) {
    fmt::print("\n{:>7} {:>12} {:>12} {:>9}\n", "example", "lower", "upper", "gap");
    for (int64_t i = 0; i < args.n; ++i)
      fmt::print("{:>7} {:>12.3f} {:>12.3f} {:>9.3f}\n", i, lower_all[i].item<double>(), upper_all[i].item<double>(),
                 gap[i].item<double>());
    fmt::print("\n");
  }
  fmt::print("lower      {:.3f} ± {:.3f} nats per example (forward AIS; acceptance {:.2f})\n", low.mean,
             low.standard_error, forward_acceptance.overall());
  fmt::print("upper      {:.3f} ± {:.3f} nats per example (reverse AIS from the exact z; acceptance {:.2f})\n",
             high.mean, high.standard_error, reverse_acceptance.overall());
  fmt::print("gap        {:.3f} ± {:.3f} nats (the error bar of AIS at this T)\n", width.mean, width.standard_error);
  if (exact) fmt::print("exact      {:.3f} nats per example (the model's closed form)\n", *exact);
  fmt::print("time       {:.1f} s\n", seconds);
  return 0;
}

}  // namespace

Command add_bdmc_command(CLI::App& parent) {
  auto args = std::make_shared<BdmcArgs>();
  CLI::App* app = parent.add_subcommand(
      "bdmc",
      "Bidirectional Monte Carlo: AIS bounds on log p(x) from below and above, on data simulated from the model");
  add_subject_options(*app, args->subject, 0, "--limit");
  app->add_option("--n", args->n, "Examples simulated from the model (default 100)")
      ->check(cli_check(between(1, 1 << 24)));
  app->add_option("--batch-size", args->batch_size, "Examples at once (default 100)")->check(cli_check(at_least(1)));
  app->add_option("--chunk", args->chunk, "Chains at once (default 0: all)")->check(cli_check(at_least(0)));
  app->add_option("--seed", args->seed, "Seed of the simulation and the chains (default 0)")
      ->check(cli_check(at_least(0)));
  app->add_flag("--json", args->json, "Print one JSON object: lower, upper, gap, acceptance, ...");
  app->add_flag("--per-example", args->per_example, "Print (or put in the JSON) each example's bounds");
  add_table_options(*app, option_table<AisOptions>(), args->ais);
  return {app, [args] { return run_bdmc(*args); }};
}

}  // namespace dgm
