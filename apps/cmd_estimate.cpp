// dgm estimate: every estimator of log p(x) side by side, for several k, over
// repeats, against the exact value where the model has one.

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <map>
#include <sstream>

#include "apps/cli_common.h"
#include "apps/estimate_plot.h"
#include "apps/estimation_subject.h"
#include "core/error.h"
#include "core/masks.h"
#include "core/random.h"
#include "estimators/elbo.h"
#include "estimators/exact_marginal.h"
#include "estimators/importance_sampling.h"
#include "estimators/iwae_bound.h"
#include "estimators/naive_monte_carlo.h"

namespace dgm {
namespace {

struct EstimateArgs {
  SubjectOptions subject;
  std::string estimators = "naive,is,iwae,elbo,exact";
  std::string ks = "1,10,100,1000";
  int64_t repeats = 5;
  std::string proposal = "encoder";
  std::string mask = "none";
  int64_t chunk = 250;
  int64_t batch_size = 100;
  int64_t seed = 0;
  bool json = false;
  std::string plot;
};

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> items;
  std::stringstream stream(text);
  for (std::string item; std::getline(stream, item, ',');)
    if (!item.empty()) items.push_back(item);
  return items;
}

std::vector<int64_t> parse_ks(const std::string& text) {
  std::vector<int64_t> ks;
  for (const auto& item : split_list(text)) {
    std::size_t used = 0;
    int64_t k = 0;
    try {
      k = std::stoll(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != item.size()) fail("--k {}: '{}' is not an integer", text, item);
    if (k <= 0) fail("--k {}: k = {} is not valid: every k must be at least 1", text, k);
    ks.push_back(k);
  }
  if (ks.empty()) fail("--k needs at least one value, e.g. --k 1,10,100");
  return ks;
}

/// Runs estimator `name` with k samples on every example, in batches: [N].
torch::Tensor per_example(LatentVariableModel& model, const std::string& name, int64_t k, const torch::Tensor& x,
                          const torch::Tensor& mask, const Proposal& proposal, const EstimateArgs& args,
                          std::vector<torch::Tensor>* ess) {
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> parts;
  for (int64_t start = 0; start < x.size(0); start += args.batch_size) {
    auto xb = x.slice(0, start, std::min(x.size(0), start + args.batch_size));
    auto mb = mask.slice(0, start, std::min(x.size(0), start + args.batch_size));
    if (name == "naive") {
      parts.push_back(naive_monte_carlo(model, xb, {k, args.chunk}, mb).log_estimate);
    } else if (name == "is") {
      auto estimate = importance_sampling(model, xb, {k, args.chunk, proposal}, mb);
      parts.push_back(estimate.log_estimate);
      if (ess != nullptr) ess->push_back(estimate.ess);
    } else if (name == "iwae") {
      IwaeOptions options;
      options.k = k;
      options.chunk = args.chunk;
      options.proposal = proposal;
      parts.push_back(iwae_bound(model, xb, options, mb));
    } else if (name == "elbo") {
      ElboOptions options;
      options.samples = k;
      parts.push_back(elbo(model, xb, options, mb).elbo);
    } else {
      parts.push_back(exact_log_marginal(model, xb, {}, mb));
    }
  }
  return torch::cat(parts).to(torch::kFloat64).cpu();
}

int run_estimate(EstimateArgs args) {
  const auto names = split_list(args.estimators);
  for (const auto& name : names)
    if (name != "naive" && name != "is" && name != "iwae" && name != "elbo" && name != "exact")
      fail("--estimators: unknown estimator '{}': use naive, is, iwae, elbo, exact", name);
  const auto ks = parse_ks(args.ks);
  if (args.repeats < 1) fail("--repeats {} is not valid: it must be at least 1", args.repeats);
  const Proposal proposal = parse_proposal(args.proposal);
  args.subject.seed = static_cast<uint64_t>(args.seed);
  EstimationSubject subject = load_subject(args.subject);
  LatentVariableModel& model = *subject.model;
  const auto mask = make_mask(args.mask, subject.x.size(0), subject.x.size(1), subject.image_shape,
                              derive_seed(args.subject.seed, 4), subject.x.options());

  const bool exact_known = has_exact_marginal(model);
  std::optional<double> exact;
  if (exact_known)
    exact = per_example(model, "exact", 1, subject.x, mask, proposal, args, nullptr).mean().item<double>();

  nlohmann::json results = nlohmann::json::object();
  std::vector<std::string> rows;
  std::map<std::string, std::vector<double>> means_by_name;
  for (const auto& name : names) {
    if (name == "exact") continue;
    for (std::size_t ki = 0; ki < ks.size(); ++ki) {
      const int64_t k = ks[ki];
      std::vector<double> means;
      std::vector<torch::Tensor> ess;
      bool minus_infinity = false;
      for (int64_t r = 0; r < args.repeats; ++r) {
        seed_everything(derive_seed(derive_seed(args.subject.seed, std::hash<std::string>{}(name)), k * 1000 + r));
        auto values = per_example(model, name, k, subject.x, mask, proposal, args, &ess);
        minus_infinity = minus_infinity || torch::isneginf(values).any().item<bool>();
        means.push_back(values.mean().item<double>());
      }
      auto tensor = torch::tensor(means, torch::kFloat64);
      const double mean = tensor.mean().item<double>();
      const double spread = args.repeats > 1 ? tensor.std().item<double>() : 0.0;
      means_by_name[name].push_back(mean);
      nlohmann::json entry{{"mean", mean}, {"sd_over_repeats", spread}};
      if (exact) entry["bias"] = mean - *exact;
      if (!ess.empty()) entry["mean_ess"] = torch::cat(ess).mean().item<double>();
      results[name][std::to_string(k)] = entry;
      if (minus_infinity)
        fmt::print(stderr, "warning: {} with k = {}: every weight was 0 for some example (log p_hat = -inf)\n", name,
                   k);
      rows.push_back(fmt::format("{:<6} {:>7} {:>14.3f} {:>12.3f} {:>11} {:>9}", name, k, mean, spread,
                                 exact ? fmt::format("{:.3f}", mean - *exact) : "-",
                                 ess.empty() ? "-" : fmt::format("{:.1f}", torch::cat(ess).mean().item<double>())));
    }
  }
  if (!args.plot.empty()) {
    seed_everything(derive_seed(args.subject.seed, 5));
    write_estimate_plot(args.plot, model, subject.x.slice(0, 0, 1), mask.slice(0, 0, 1), proposal, ks, means_by_name,
                        exact ? std::optional<double>(*exact) : std::nullopt,
                        exact_known ? std::optional<double>(per_example(model, "exact", 1, subject.x.slice(0, 0, 1),
                                                                        mask.slice(0, 0, 1), proposal, args, nullptr)
                                                                .item<double>())
                                    : std::nullopt);
  }
  if (args.json) {
    nlohmann::json out{{"model", subject.description},
                       {"n", subject.x.size(0)},
                       {"repeats", args.repeats},
                       {"proposal", args.proposal},
                       {"mask", args.mask},
                       {"estimators", results},
                       {"exact", exact ? nlohmann::json(*exact) : nlohmann::json(nullptr)}};
    fmt::print("{}\n", out.dump());
    return 0;
  }
  fmt::print("model     {}\n", subject.description);
  fmt::print("examples  {} (mask {}), {} repeats, proposal {}\n", subject.x.size(0), args.mask, args.repeats,
             args.proposal);
  fmt::print("exact     {}\n", exact ? fmt::format("{:.3f} nats per example", *exact) : "not available for this model");
  fmt::print("\n{:<6} {:>7} {:>14} {:>12} {:>11} {:>9}\n", "est.", "k", "mean log p(x)", "sd(repeats)", "bias", "ESS");
  for (const auto& row : rows) fmt::print("{}\n", row);
  if (!args.plot.empty()) fmt::print("\nplot written to {}\n", args.plot);
  return 0;
}

}  // namespace

Command add_estimate_command(CLI::App& parent) {
  auto args = std::make_shared<EstimateArgs>();
  CLI::App* app = parent.add_subcommand(
      "estimate", "Estimate log p(x) with naive Monte Carlo, importance sampling, IWAE, ELBO and exact sums");
  auto* run = app->add_option("--run,-r", args->subject.run, "Run directory written by dgm train");
  app->add_option("--model", args->subject.model,
                  "A reference model built on the spot: ppca (closed-form fit) or sbn (sigmoid belief net)")
      ->check(CLI::IsMember({"ppca", "sbn"}))
      ->excludes(run);
  app->add_option("--encoder", args->subject.encoder, "TorchScript encoder (with --decoder and --data)")->excludes(run);
  app->add_option("--decoder", args->subject.decoder, "TorchScript decoder (see dgm eval --help)")->excludes(run);
  app->add_option("--likelihood", args->subject.likelihood, "Of the TorchScript decoder: bernoulli or gaussian")
      ->check(CLI::IsMember({"bernoulli", "gaussian"}));
  app->add_option("--binarize", args->subject.binarize, "TorchScript data: none (default), fixed or dynamic")
      ->check(CLI::IsMember({"none", "fixed", "dynamic"}));
  app->add_option("--latent-dim", args->subject.latent_dim, "Latent size of --model (default: pPCA 8, SBN 10)")
      ->check(at_least(1));
  app->add_option("--fit-n", args->subject.fit_n, "Training images --model is fitted on (default 2000)")
      ->check(at_least(1));
  app->add_option("--epochs", args->subject.epochs, "SBN fitting epochs (default 5)")->check(at_least(1));
  app->add_option("--data", args->subject.data, "Data: an IDX directory or file (default: the run's, Fashion-MNIST)");
  app->add_option("--n", args->subject.n, "Test examples evaluated (default 100)")->check(at_least(1));
  app->add_option("--estimators", args->estimators, "Comma list of naive, is, iwae, elbo, exact (default: all)");
  app->add_option("--k", args->ks, "Comma list of sample counts (default 1,10,100,1000)");
  app->add_option("--repeats", args->repeats, "Independent repeats per estimator and k (default 5)");
  app->add_option("--proposal", args->proposal,
                  "encoder (the model's q), posterior (exact, pPCA), prior, uniform (finite z) or widened:F");
  app->add_option("--mask", args->mask, "Hidden entries: none, top-half, bottom-half or random:P (default none)");
  app->add_option("--chunk", args->chunk, "Samples drawn at once (default 250)")->check(at_least(1));
  app->add_option("--batch-size", args->batch_size, "Examples per batch (default 100)")->check(at_least(1));
  app->add_option("--seed", args->seed, "Seed (default 0)")->check(at_least(0));
  add_device_option(*app, args->subject.device);
  app->add_flag("--json", args->json, "Print one JSON object, keyed by estimator and k");
  app->add_option("--plot", args->plot, "Draw the running estimates and the bias against k to this PNG (gnuplot)");
  return {app, [args] {
            if (args->subject.run.empty() && args->subject.model.empty() && args->subject.encoder.empty())
              fail("dgm estimate needs --run DIR, --model ppca|sbn, or --encoder ENC.pt --decoder DEC.pt --data PATH");
            return run_estimate(*args);
          }};
}

}  // namespace dgm
