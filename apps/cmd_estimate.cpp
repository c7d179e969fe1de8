// dgm estimate: every registered estimator of log p(x) side by side, for
// several k, over repeats, against the exact value where the model has one.

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cmath>
#include <map>
#include <sstream>

#include "apps/cli_common.h"
#include "apps/estimate_plot.h"
#include "apps/subject.h"
#include "core/error.h"
#include "core/masks.h"
#include "core/process_group.h"
#include "core/random.h"
#include "estimators/exact_marginal.h"
#include "estimators/registry.h"

namespace dgm {
namespace {

struct EstimateArgs {
  SubjectOptions subject;
  std::string estimators;  ///< default: every registered one
  std::string ks = "1,10,100,1000";
  int64_t repeats = 5;
  std::string proposal = "encoder";
  std::string mask = "none";
  int64_t chunk = 250;
  int64_t batch_size = 100;
  int64_t seed = 0;
  bool json = false;
  std::string plot;
  AisOptions ais;
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
    // The same bound as eval.k: past it, use --chunk and --repeats.
    if (k > (int64_t{1} << 24)) fail("--k {}: k = {} is past the most dgm draws per example, 16777216", text, k);
    ks.push_back(k);
  }
  if (ks.empty()) fail("--k needs at least one value, e.g. --k 1,10,100");
  return ks;
}

/// The registered estimators named in --estimators (every one when empty).
std::vector<const EstimatorEntry*> chosen_estimators(const std::string& list) {
  const auto& registry = estimator_registry();
  std::vector<const EstimatorEntry*> chosen;
  for (const auto& name : list.empty() ? registry.names() : split_list(list)) {
    if (!registry.contains(name))
      fail("--estimators: unknown estimator '{}': use {}", name, join_choices(registry.names(), ", "));
    chosen.push_back(&registry.at(name));
  }
  return chosen;
}

/// Runs `estimator` with k samples on every example, in batches: [N]
/// (float64, CPU); the effective sample sizes go to `ess` where it has them,
/// HMC's acceptances to `acceptance`. Batch b draws from its own seed
/// (options.seed for the first, as before batches had their own), so that
/// over a process group each process runs its share of the batches and the
/// values gathered are the one-process values.
torch::Tensor per_example(LatentVariableModel& model, const EstimatorEntry& estimator, EstimatorOptions options,
                          const torch::Tensor& x, const torch::Tensor& mask, int64_t batch_size,
                          std::vector<torch::Tensor>* ess, std::optional<BandAcceptance>* acceptance = nullptr,
                          Collectives& group = single_process()) {
  torch::NoGradGuard no_grad;
  if (estimator.kind == EstimateKind::kExact) options.chunk = 0;  // an exact sum's own chunk
  const int64_t n = x.size(0), batches = (n + batch_size - 1) / batch_size;
  const auto [first_batch, end_batch] = shard_of(batches, group.rank(), group.size());
  const uint64_t seed = options.seed.value_or(0);
  std::vector<torch::Tensor> parts, local_ess;
  BandAcceptance accepted;
  bool has_acceptance = false;
  for (int64_t b = first_batch; b < end_batch; ++b) {
    const int64_t start = b * batch_size, end = std::min(n, start + batch_size);
    seed_everything(b == 0 ? seed : derive_seed(seed, static_cast<uint64_t>(b)));
    options.first_example = start;  // draws keyed by example (AIS) do not depend on the batches
    Estimate estimate = estimator.estimate(model, x.slice(0, start, end), options, mask.slice(0, start, end));
    parts.push_back(estimate.value.to(torch::kCPU, torch::kFloat64));
    if (estimate.weights) local_ess.push_back(estimate.weights->ess.to(torch::kCPU, torch::kFloat64));
    if (estimate.acceptance) {
      accepted.add(*estimate.acceptance);
      has_acceptance = true;
    }
  }
  auto rows = [](const std::vector<torch::Tensor>& values) {
    return values.empty() ? torch::empty({0}, torch::kFloat64) : torch::cat(values);
  };
  const auto values = all_gather_rows(group, rows(parts));
  // Whether the estimator reports ESS or acceptances is the same on every
  // process (one estimator); a process without batches learns it from the sums.
  auto reports = torch::tensor({local_ess.empty() ? 0.0 : 1.0, has_acceptance ? 1.0 : 0.0}, torch::kFloat64);
  group.all_reduce_sum(reports);
  if (ess != nullptr && reports[0].item<double>() > 0) ess->push_back(all_gather_rows(group, rows(local_ess)));
  if (reports[1].item<double>() > 0) {
    auto counts = torch::cat(
        {torch::tensor(accepted.accepted, torch::kFloat64), torch::tensor(accepted.proposed, torch::kFloat64)});
    group.all_reduce_sum(counts);
    for (int band = 0; band < BandAcceptance::kBands; ++band) {
      accepted.accepted[static_cast<std::size_t>(band)] = counts[band].item<double>();
      accepted.proposed[static_cast<std::size_t>(band)] = counts[BandAcceptance::kBands + band].item<double>();
    }
    if (acceptance != nullptr) {
      if (!*acceptance) *acceptance = BandAcceptance{};
      (*acceptance)->add(accepted);
    }
  }
  return values;
}

int run_estimate(EstimateArgs args) {
  const auto estimators = chosen_estimators(args.estimators);
  const auto ks = parse_ks(args.ks);
  if (args.repeats < 1) fail("--repeats {} is not valid: it must be at least 1", args.repeats);
  EstimatorOptions options;
  options.proposal = parse_proposal(args.proposal);
  options.chunk = args.chunk;
  options.ais = args.ais;
  args.subject.seed = static_cast<uint64_t>(args.seed);
  Subject subject = load_subject(args.subject);
  LatentVariableModel& model = *subject.model;
  // As several processes (torchrun), each estimates its share of the batches
  // of the same examples; rank 0 prints (main.cpp quiets the others).
  Collectives& group = process_group();
  const auto mask = make_mask(args.mask, subject.x.size(0), subject.x.size(1), subject.image_shape,
                              derive_seed(*args.subject.seed, 4), subject.x.options());

  // The values each example's estimate covers: its observed ones.
  const double dims = mask.defined() ? mask.sum().item<double>() / static_cast<double>(subject.x.size(0))
                                     : static_cast<double>(subject.x.size(1));
  const bool in_bits = bits_per_dim(model, 0.0, dims).has_value();

  const EstimatorEntry& exact_estimator = estimator_registry().at("exact");
  const bool exact_known = has_exact_marginal(model);
  std::optional<double> exact;
  if (exact_known)
    exact = per_example(model, exact_estimator, options, subject.x, mask, args.batch_size, nullptr, nullptr, group)
                .mean()
                .item<double>();

  nlohmann::json results = nlohmann::json::object();
  std::vector<std::pair<std::string, std::string>> rows;  // estimator, the rest of its line
  std::map<std::string, std::vector<double>> means_by_name;
  std::map<std::string, double> means_without_k;  // estimators that do not read k: one row, at their own sample count
  for (const EstimatorEntry* estimator : estimators) {
    if (estimator->kind == EstimateKind::kExact) continue;            // the reference line, computed once above
    if (args.estimators.empty() && !estimator->by_default) continue;  // costly ones (AIS) only when named
    if (estimator->applies && !estimator->applies(model)) {
      if (args.estimators.empty()) continue;  // every estimator that applies
      fail("--estimators: {} does not apply to {}", estimator->name, model.describe());
    }
    const std::string& name = estimator->name;
    const std::vector<int64_t> row_ks = estimator->takes_k ? ks : std::vector<int64_t>{args.ais.chains};
    for (const int64_t k : row_ks) {
      std::vector<double> means;
      std::vector<torch::Tensor> ess;
      std::optional<BandAcceptance> acceptance;
      bool minus_infinity = false;
      options.k = k;
      const auto started = std::chrono::steady_clock::now();
      for (int64_t r = 0; r < args.repeats; ++r) {
        const uint64_t seed =
            derive_seed(derive_seed(*args.subject.seed, std::hash<std::string>{}(name)), k * 1000 + r);
        seed_everything(seed);
        options.seed = seed;
        auto values =
            per_example(model, *estimator, options, subject.x, mask, args.batch_size, &ess, &acceptance, group);
        minus_infinity = minus_infinity || torch::isneginf(values).any().item<bool>();
        means.push_back(values.mean().item<double>());
      }
      auto tensor = torch::tensor(means, torch::kFloat64);
      const double mean = tensor.mean().item<double>();
      const double spread = args.repeats > 1 ? tensor.std().item<double>() : 0.0;
      if (estimator->takes_k)
        means_by_name[name].push_back(mean);
      else
        means_without_k[name] = mean;
      const double seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count() / args.repeats;
      nlohmann::json entry{{"mean", mean}, {"sd_over_repeats", spread}, {"seconds_per_repeat", seconds}};
      if (exact) entry["bias"] = mean - *exact;
      if (in_bits) entry["bits_per_dim"] = *bits_per_dim(model, mean, dims);
      if (!ess.empty()) entry["mean_ess"] = torch::cat(ess).mean().item<double>();
      if (acceptance) {
        nlohmann::json rates = nlohmann::json::array();
        for (double rate : acceptance->rates())
          rates.push_back(std::isnan(rate) ? nlohmann::json() : nlohmann::json(rate));
        entry["acceptance"] = acceptance->overall();
        entry["acceptance_by_beta_band"] = rates;  // [0, 0.1), ..., [0.9, 1]
        entry["ais_steps"] = args.ais.ais_steps;
        entry["leapfrog"] = args.ais.leapfrog;
        entry["ais_init"] = to_string(args.ais.ais_init);
      }
      results[name][std::to_string(k)] = entry;
      if (minus_infinity)
        fmt::print(stderr, "warning: {} with k = {}: every weight was 0 for some example (log p_hat = -inf)\n", name,
                   k);
      rows.emplace_back(name,
                        fmt::format("{:>7} {:>14.3f} {:>12.3f} {:>11} {:>9}{}", k, mean, spread,
                                    exact ? fmt::format("{:.3f}", mean - *exact) : "-",
                                    ess.empty() ? "-" : fmt::format("{:.1f}", torch::cat(ess).mean().item<double>()),
                                    in_bits ? fmt::format(" {:>9.4f}", *bits_per_dim(model, mean, dims)) : ""));
    }
  }
  if (!args.plot.empty() && group.is_main()) {  // one process draws the plot
    seed_everything(derive_seed(*args.subject.seed, 5));
    std::optional<double> exact_of_example;
    if (exact_known)
      exact_of_example = per_example(model, exact_estimator, options, subject.x.slice(0, 0, 1), mask.slice(0, 0, 1),
                                     args.batch_size, nullptr)
                             .item<double>();
    write_estimate_plot(args.plot, model, subject.x.slice(0, 0, 1), mask.slice(0, 0, 1), options.proposal, ks,
                        means_by_name, exact, exact_of_example, means_without_k);
  }
  if (args.json) {
    nlohmann::json out{{"model", subject.description},
                       {"n", subject.x.size(0)},
                       {"repeats", args.repeats},
                       {"proposal", args.proposal},
                       {"mask", args.mask},
                       {"estimators", results},
                       {"exact", exact ? nlohmann::json(*exact) : nlohmann::json(nullptr)}};
    print_json(out);
    return 0;
  }
  fmt::print("model     {}\n", subject.description);
  fmt::print("examples  {} (mask {}), {} repeats, proposal {}\n", subject.x.size(0), args.mask, args.repeats,
             args.proposal);
  fmt::print("exact     {}\n", exact ? fmt::format("{:.3f} nats per example", *exact) : "not available for this model");
  std::size_t width = 6;  // the estimators' names, as long as the longest
  for (const auto& row : rows) width = std::max(width, row.first.size());
  fmt::print("\n{:<{}} {:>7} {:>14} {:>12} {:>11} {:>9}{}\n", "est.", width, "k", "mean log p(x)", "sd(repeats)",
             "bias", "ESS", in_bits ? fmt::format(" {:>9}", "bits/dim") : "");
  for (const auto& [name, row] : rows) fmt::print("{:<{}} {}\n", name, width, row);
  if (!args.plot.empty()) fmt::print("\nplot written to {}\n", args.plot);
  return 0;
}

}  // namespace

Command add_estimate_command(CLI::App& parent) {
  auto args = std::make_shared<EstimateArgs>();
  CLI::App* app = parent.add_subcommand(
      "estimate",
      "Estimate log p(x) with every registered estimator (naive Monte Carlo, importance sampling, IWAE, "
      "ELBO, exact sums, AIS: its row has k = --chains)");
  add_subject_options(*app, args->subject, 100);
  app->add_option("--estimators", args->estimators,
                  "Comma list of registered estimators: " + join_choices(estimator_registry().names(), ", ") +
                      " (default: all that apply but ais)");
  app->add_option("--k", args->ks, "Comma list of sample counts (default 1,10,100,1000)");
  app->add_option("--repeats", args->repeats, "Independent repeats per estimator and k (default 5)")
      ->check(cli_check(at_least(1)));
  app->add_option("--proposal", args->proposal,
                  "encoder (the model's q), posterior (exact, pPCA), prior, uniform (finite z) or widened:F");
  app->add_option("--mask", args->mask, "Hidden entries: none, top-half, bottom-half or random:P (default none)");
  app->add_option("--chunk", args->chunk, "Samples drawn at once; AIS: chains at once (default 250)")
      ->check(cli_check(at_least(1)));
  app->add_option("--batch-size", args->batch_size, "Examples per batch (default 100)")->check(cli_check(at_least(1)));
  app->add_option("--seed", args->seed, "Seed (default 0)")->check(cli_check(at_least(0)));
  app->add_flag("--json", args->json, "Print one JSON object, keyed by estimator and k");
  app->add_option("--plot", args->plot, "Draw the running estimates and the bias against k to this PNG (gnuplot)");
  add_table_options(*app, option_table<AisOptions>(), args->ais);
  return {app, [args] { return run_estimate(*args); }, [] { return true; }};
}

}  // namespace dgm
