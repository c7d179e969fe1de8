// dgm gmm fit | predict | score | sample: Gaussian mixtures by EM on the
// tensor backend, with scikit-learn's options.

#include <fmt/ranges.h>
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <filesystem>

#include "apps/cli_common.h"
#include "apps/gmm_plot.h"
#include "core/collectives.h"
#include "core/csv.h"
#include "core/device.h"
#include "core/directory_lock.h"
#include "core/error.h"
#include "core/process_group.h"
#include "core/random.h"
#include "models/gaussian_mixture_io.h"
#include "trainers/gmm_em.h"

namespace dgm {

/// What --select compares across a range of components.
enum class Criterion { kBic, kAic };
DGM_ENUM_NAMES(Criterion, "criterion", {Criterion::kBic, "bic"}, {Criterion::kAic, "aic"});

namespace {

struct GmmArgs {
  std::string data, key, out, model, init_from, plot, components = "1";
  EmOptions em;  ///< every EM option, from the command line (components aside)
  Criterion select = Criterion::kBic;
  std::string device = "auto";
  Precision dtype = Precision::kFloat64;
  int64_t seed = 0, n = 100, threads = 0;
  bool json = false, proba = false;
};

/// "K" or "A..B".
std::pair<int64_t, int64_t> component_range(const std::string& text) {
  const auto dots = text.find("..");
  try {
    if (dots == std::string::npos) {
      const int64_t k = std::stoll(text);
      return {k, k};
    }
    return {std::stoll(text.substr(0, dots)), std::stoll(text.substr(dots + 2))};
  } catch (const std::exception&) {
    fail("--components {}: write K or a range A..B, e.g. 2..20", text);
  }
}

/// Points and the mask of their observed (non-NaN) entries.
std::pair<torch::Tensor, torch::Tensor> points_on(const std::string& path, const std::string& key,
                                                  const torch::Device& device, torch::Dtype dtype) {
  auto points = read_points(path, key);
  auto observed = ~torch::isnan(points);
  auto filled = torch::where(observed, points, torch::zeros_like(points));
  return {filled.to(device, dtype), observed.all().item<bool>() ? torch::Tensor() : observed.to(device, dtype)};
}

/// The log-likelihood of every process's points together (missing values
/// marginalized), and the number of points.
std::pair<double, double> total_log_likelihood(const GaussianMixture& mixture, const torch::Tensor& x,
                                               const torch::Tensor& mask, Collectives& group) {
  return {all_reduce_sum(group, mixture.log_prob(x, mask).sum().item<double>()),
          all_reduce_sum(group, static_cast<double>(x.size(0)))};
}

/// BIC or AIC of the points of every process.
double criterion_of(Criterion criterion, const GaussianMixture& mixture, const torch::Tensor& x,
                    const torch::Tensor& mask, Collectives& group) {
  const auto [log_likelihood, n] = total_log_likelihood(mixture, x, mask, group);
  const double parameters = static_cast<double>(mixture.parameter_count());
  return -2.0 * log_likelihood + parameters * (criterion == Criterion::kBic ? std::log(n) : 2.0);
}

int run_fit(const GmmArgs& args) {
  const torch::Device device = prepare_device(args.device, args.threads);
  const torch::Dtype dtype = to_dtype(args.dtype);
  // As several processes (torchrun), each reads the file and keeps its
  // shard of the rows (core/collectives.h's shard_of); EM sums the rest.
  Collectives& group = process_group();
  auto [all_points, all_mask] = points_on(args.data, args.key, device, dtype);
  if (all_points.size(0) < group.size())
    fail("{} has {} points: too few for {} processes (each needs one); run fewer", args.data, all_points.size(0),
         group.size());
  const auto [first, last] = shard_of(all_points.size(0), group.rank(), group.size());
  const torch::Tensor x = group.size() == 1 ? all_points : all_points.slice(0, first, last);
  const torch::Tensor mask = group.size() == 1 || !all_mask.defined() ? all_mask : all_mask.slice(0, first, last);
  if (mask.defined()) {  // EM's own check names no file
    const auto unobserved = (all_mask.sum(0) == 0).nonzero();
    if (unobserved.numel() > 0)
      fail("{}: column {} has no observed value (every entry is NaN, which stands for missing); drop the column",
           args.data, unobserved[0].item<int64_t>());
  }
  const auto [low, high] = component_range(args.components);
  if (low < 1 || high < low) fail("--components {}: the range must be 1 <= A <= B", args.components);
  EmOptions options = args.em;
  const std::string criterion_name = to_string(args.select);

  std::optional<EmResult> best;
  double best_criterion = 0;
  nlohmann::json selection = nlohmann::json::array();
  for (int64_t k = low; k <= high; ++k) {
    options.components = k;
    std::optional<GaussianMixture> warm;
    if (!args.init_from.empty()) {
      warm = load_mixture(args.init_from, device, dtype);
      if (warm->components() != k || warm->data_dim() != x.size(1) || warm->type() != options.covariance)
        fail("--init-from {}: its mixture has {} {} components of {} dimensions; this fit asks for {} {} of {}",
             args.init_from, warm->components(), to_string(warm->type()), warm->data_dim(), k,
             to_string(options.covariance), x.size(1));
    }
    EmResult result = fit_gaussian_mixture(x, options, warm ? &*warm : nullptr, mask, group);
    const double criterion = criterion_of(args.select, result.mixture, x, mask, group);
    if (low != high) {
      selection.push_back({{"components", k}, {criterion_name, criterion}, {"converged", result.converged}});
      if (!args.json && group.is_main()) fmt::print(stderr, "K = {:>3}: {} {:.3f}\n", k, criterion_name, criterion);
    }
    if (!best || criterion < best_criterion) {
      best = std::move(result);
      best_criterion = criterion;
    }
  }
  const GaussianMixture& mixture = best->mixture;
  const auto [log_likelihood, n] = total_log_likelihood(mixture, x, mask, group);
  const double mean_log_likelihood = log_likelihood / n;
  const double missing = all_mask.defined() ? 1.0 - all_mask.mean().item<double>() : 0.0;
  const double bic = criterion_of(Criterion::kBic, mixture, x, mask, group);
  const double aic = criterion_of(Criterion::kAic, mixture, x, mask, group);
  nlohmann::json summary{{"data", args.data},
                         {"n", all_points.size(0)},
                         {"dimensions", x.size(1)},
                         {"components", mixture.components()},
                         {"covariance_type", to_string(mixture.type())},
                         {"init", to_string(options.init)},
                         {"n_init", options.n_init},
                         {"dtype", to_string(args.dtype)},
                         {"mean_log_likelihood", mean_log_likelihood},
                         {"lower_bound", best->lower_bound},
                         {"n_iter", best->n_iter},
                         {"converged", best->converged},
                         {"missing_fraction", missing},
                         {"bic", bic},
                         {"aic", aic},
                         {"reseeded", best->reseeded},
                         {"seconds", best->seconds},
                         {"seconds_per_iter", best->seconds_per_iter},
                         {"history", best->history},
                         {"processes", group.size()}};
  if (low != high) summary["selection"] = selection;
  if (!group.is_main()) return 0;  // every process holds the same mixture: rank 0 writes it
  if (!args.out.empty()) {
    // Two fits into one directory at once would interleave their files.
    DirectoryLock lock(args.out, "model directory");
    remove_stale_temporaries_of(args.out);
    save_mixture(args.out, mixture, summary);
  }
  if (!args.plot.empty()) {
    if (all_mask.defined()) fail("--plot draws complete points only; {} has missing values", args.data);
    write_mixture_plot(args.plot, mixture, all_points);
  }
  if (args.json) {
    print_json(summary);
    return 0;
  }
  fmt::print("data                 {} ({} points, {} dimensions{})\n", args.data, all_points.size(0), x.size(1),
             group.size() > 1 ? fmt::format("; {} processes", group.size()) : "");
  fmt::print("mixture              {} components, {} covariance, init {} (n_init {})\n", mixture.components(),
             to_string(mixture.type()), to_string(options.init), options.n_init);
  fmt::print("iterations           {} ({})\n", best->n_iter,
             best->converged ? "converged" : "NOT converged: raise --max-iter or --tol");
  fmt::print("mean log-likelihood  {:.6f} nats per point\n", mean_log_likelihood);
  fmt::print("BIC                  {:.3f}\n", bic);
  fmt::print("AIC                  {:.3f}\n", aic);
  if (all_mask.defined())
    fmt::print("missing values       {:.2f}% of the entries, marginalized exactly\n", 100.0 * missing);
  fmt::print("seconds              {:.3f} in all, {:.4f} per EM iteration\n", best->seconds, best->seconds_per_iter);
  if (best->reseeded > 0) fmt::print("re-seeded            {} collapsed component(s)\n", best->reseeded);
  if (!args.out.empty()) fmt::print("saved                {}\n", args.out);
  if (!args.plot.empty()) fmt::print("plot                 {}\n", args.plot);
  return 0;
}

int run_predict(const GmmArgs& args, bool score) {
  const torch::Device device = prepare_device(args.device, 0);
  const torch::Dtype dtype = to_dtype(args.dtype);
  GaussianMixture mixture = load_mixture(args.model, device, dtype);
  auto [x, mask] = points_on(args.data, args.key, device, dtype);
  if (x.size(1) != mixture.data_dim())
    fail("{} has {} columns, but the mixture in {} has {} dimensions", args.data, x.size(1), args.model,
         mixture.data_dim());
  torch::Tensor result;
  if (score) {
    result = mixture.log_prob(x, mask);
    fmt::print("mean log-likelihood {:.6f} nats per point over {} points{}\n", result.mean().item<double>(), x.size(0),
               mask.defined() ? " (missing values marginalized)" : "");
  } else {
    auto responsibilities = mixture.responsibilities(x, mask);
    result = args.proba ? responsibilities : responsibilities.argmax(-1);
  }
  if (!args.out.empty()) {
    write_points(args.out, result.cpu());
    fmt::print("{} written to {}\n", score ? "log-likelihoods" : (args.proba ? "responsibilities" : "labels"),
               args.out);
  } else if (!score) {
    auto cpu = result.cpu();
    for (int64_t i = 0; i < cpu.size(0); ++i) {
      if (args.proba)
        fmt::print(
            "{}\n",
            fmt::join(std::vector<double>(cpu[i].data_ptr<double>(), cpu[i].data_ptr<double>() + cpu.size(1)), ","));
      else
        fmt::print("{}\n", cpu[i].item<int64_t>());
    }
  }
  return 0;
}

int run_sample(const GmmArgs& args) {
  const torch::Device device = prepare_device(args.device, 0);
  GaussianMixture mixture = load_mixture(args.model, device, to_dtype(args.dtype));
  seed_everything(static_cast<uint64_t>(args.seed));
  auto [x, component] = mixture.sample(args.n);
  write_points(args.out, x.cpu());
  fmt::print("{} points written to {}\n", args.n, args.out);
  return 0;
}

void add_common(CLI::App& app, GmmArgs& args) {
  add_device_option(app, args.device);
  app.add_option_function<std::string>(
         "--dtype", [&args](const std::string& text) { args.dtype = parse_enum<Precision>(text); },
         "float64 (default) or float32")
      ->check(CLI::IsMember(enum_names<Precision>()));
}

}  // namespace

Command add_gmm_command(CLI::App& parent) {
  auto args = std::make_shared<GmmArgs>();
  CLI::App* gmm = parent.add_subcommand("gmm", "Gaussian mixtures by EM: fit, predict, score, sample");
  gmm->require_subcommand(1);

  CLI::App* fit = gmm->add_subcommand("fit", "Fit a Gaussian mixture to points (NPY or CSV, one row per point)");
  fit->add_option("--data", args->data, "Points: .npy, .npz or .csv, rows are points")->required();
  fit->add_option("--key", args->key, "The array of the points in an .npz archive of several");
  fit->add_option("--components,-k", args->components, "K, or a range A..B to select by --select (default 1)");
  add_table_options(*fit, option_table<EmOptions>(), args->em, {"components"});
  fit->add_option_function<std::string>(
         "--select", [args](const std::string& text) { args->select = parse_enum<Criterion>(text); },
         "With a range of components: bic (default) or aic")
      ->check(CLI::IsMember(enum_names<Criterion>()));
  fit->add_option("--init-from", args->init_from,
                  "Start EM from a mixture saved by --out (warm start) instead of --init");
  fit->add_option("--threads", args->threads, "LibTorch intra-op threads (default 0 = auto: 1 beside OpenBLAS)")
      ->check(cli_check(at_least(0)));
  fit->add_option("--out,-o", args->out, "Save the fitted mixture to this directory");
  fit->add_flag("--json", args->json, "Print one JSON object");
  fit->add_option("--plot", args->plot,
                  "Draw the points and the components' ellipses to this PNG (first two principal directions if D > 2)");
  add_common(*fit, *args);

  CLI::App* predict = gmm->add_subcommand("predict", "Component labels (or --proba responsibilities) of points");
  CLI::App* score = gmm->add_subcommand("score", "Log-likelihood of each point (missing values marginalized)");
  for (CLI::App* sub : {predict, score}) {
    sub->add_option("--model,-m", args->model, "Directory written by dgm gmm fit --out")->required();
    sub->add_option("--data", args->data, "Points: .npy, .npz or .csv (NaN = missing)")->required();
    sub->add_option("--key", args->key, "The array of the points in an .npz archive of several");
    sub->add_option("--out,-o", args->out, "Write the result to .npy or .csv (default: print)");
    add_common(*sub, *args);
  }
  predict->add_flag("--proba", args->proba, "Responsibilities p(z = k | x) instead of labels");

  CLI::App* sample = gmm->add_subcommand("sample", "Draw new points from a fitted mixture");
  sample->add_option("--model,-m", args->model, "Directory written by dgm gmm fit --out")->required();
  sample->add_option("--n", args->n, "Points (default 100)")->check(cli_check(at_least(1)));
  sample->add_option("--out,-o", args->out, "Output .npy or .csv")->required();
  sample->add_option("--seed", args->seed, "Seed (default 0)")->check(cli_check(at_least(0)));
  add_common(*sample, *args);

  return {gmm,
          [args, fit, predict, score, sample] {
            if (fit->parsed()) return run_fit(*args);
            if (predict->parsed()) return run_predict(*args, false);
            if (score->parsed()) return run_predict(*args, true);
            if (sample->parsed()) return run_sample(*args);
            return 2;
          },
          [fit] { return fit->parsed(); }};
}

}  // namespace dgm
