// dgm eval: the ELBO and the IWAE-k bound of a model on a data split.

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <sys/resource.h>

#include "apps/cli_common.h"
#include "apps/subject.h"
#include "core/numerics.h"
#include "core/process_group.h"
#include "estimators/evaluation.h"

namespace dgm {
namespace {

struct EvalArgs {
  SubjectOptions subject;
  std::vector<std::string> overrides;  ///< eval.k=..., from --k, --batch-size, --chunk, --ais
  AisOptions ais;                      ///< --chains, --leapfrog, ...
  bool json = false;
};

/// The process's peak resident memory so far, MB.
double peak_memory_mb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;  // ru_maxrss is in KB on Linux
}

/// The run's eval.* options (or the defaults) with the command line's on top.
EvalOptions eval_options(const Subject& subject, const EvalArgs& args) {
  EvalOptions eval = subject.config ? subject.config->eval : EvalOptions{};
  for (const auto& assignment : args.overrides) {
    const auto eq = assignment.find('=');
    const auto name = assignment.substr(5, eq - 5);  // after "eval."
    read_field_text(*option_table<EvalOptions>().find(name), eval, assignment.substr(eq + 1),
                    {option_flag(name), option_flag(name)});
  }
  if (args.subject.split) eval.split = *args.subject.split;
  if (args.subject.seed) eval.seed = *args.subject.seed;
  eval.ais_settings = args.ais;
  return eval;
}

int run_eval(const EvalArgs& args) {
  Subject subject = load_subject(args.subject);
  const EvalOptions eval = eval_options(subject, args);
  // As several processes (torchrun), each evaluates its share of the batches
  // of the same examples; rank 0 prints (main.cpp quiets the others).
  Collectives& group = process_group();
  const Evaluation result = evaluate(*subject.model, subject.x, eval, !args.json, group);
  const MeanAndError elbo = mean_and_error(result.elbo);
  const MeanAndError iwae = mean_and_error(result.iwae);
  const auto& run = args.subject.run;
  const double dims = static_cast<double>(subject.x.size(1));
  const auto elbo_bits = bits_per_dim(*subject.model, elbo.mean, dims);
  const auto iwae_bits = bits_per_dim(*subject.model, iwae.mean, dims);
  const auto ais_bits =
      eval.ais > 0 ? bits_per_dim(*subject.model, mean_and_error(result.ais).mean, dims) : std::nullopt;
  auto json_or_null = [](const std::optional<double>& value) {
    return value ? nlohmann::json(*value) : nlohmann::json();
  };
  if (args.json) {
    nlohmann::json out{
        {"run", run.empty() ? nlohmann::json(nullptr) : nlohmann::json(run)},
        {"model", subject.description},
        {"checkpoint", subject.checkpoint},
        {"split", to_string(eval.split)},
        {"n", subject.x.size(0)},
        {"k", eval.k},
        {"elbo", elbo.mean},
        {"elbo_stderr", elbo.standard_error},
        {"iwae", iwae.mean},
        {"iwae_stderr", iwae.standard_error},
        {"ais", eval.ais > 0 ? nlohmann::json(mean_and_error(result.ais).mean) : nlohmann::json()},
        {"ais_stderr", eval.ais > 0 ? nlohmann::json(mean_and_error(result.ais).standard_error) : nlohmann::json()},
        {"ais_steps", eval.ais},
        {"ais_chains", eval.ais_settings.chains},
        {"ais_leapfrog", eval.ais_settings.leapfrog},
        {"ais_acceptance", eval.ais > 0 ? nlohmann::json(result.ais_acceptance.overall()) : nlohmann::json()},
        {"seconds", result.seconds},
        {"processes", group.size()},
        {"active_units", result.active.defined ? nlohmann::json(result.active.active) : nlohmann::json()},
        {"latent_units", result.active.defined ? nlohmann::json(result.active.total) : nlohmann::json()},
        {"elbo_bits_per_dim", json_or_null(elbo_bits)},
        {"iwae_bits_per_dim", json_or_null(iwae_bits)},
        {"ais_bits_per_dim", json_or_null(ais_bits)},
        {"peak_memory_mb", peak_memory_mb()}};
    print_json(out);
    return 0;
  }
  fmt::print("model      {}\n", run.empty() ? subject.description : run + " (" + subject.checkpoint + ")");
  fmt::print("split      {} ({} examples of {})\n", to_string(eval.split), subject.x.size(0), subject.source);
  fmt::print("ELBO       {:.3f} ± {:.3f} nats per example{}\n", elbo.mean, elbo.standard_error,
             bits_per_dim_text(elbo_bits));
  fmt::print("IWAE-{:<5} {:.3f} ± {:.3f} nats per example{} (a lower bound on log p(x))\n", eval.k, iwae.mean,
             iwae.standard_error, bits_per_dim_text(iwae_bits));
  if (eval.ais > 0) {
    const MeanAndError ais = mean_and_error(result.ais);
    fmt::print(
        "AIS-{:<6} {:.3f} ± {:.3f} nats per example{} ({} chains, {} leapfrog steps, from the {}; acceptance "
        "{:.2f})\n",
        eval.ais, ais.mean, ais.standard_error, bits_per_dim_text(ais_bits), eval.ais_settings.chains,
        eval.ais_settings.leapfrog, to_string(eval.ais_settings.ais_init), result.ais_acceptance.overall());
  }
  if (result.active.defined)
    fmt::print("active     {} of {} latent units (variance of the encoder mean over these examples > 0.01)\n",
               result.active.active, result.active.total);
  fmt::print("time       {:.1f} s{}\n", result.seconds,
             group.size() > 1 ? fmt::format(" ({} processes)", group.size()) : "");
  return 0;
}

}  // namespace

Command add_eval_command(CLI::App& parent) {
  auto args = std::make_shared<EvalArgs>();
  CLI::App* app =
      parent.add_subcommand("eval", "Evaluate a model: mean ELBO and IWAE-k bound (nats), and AIS with --ais T");
  add_subject_options(*app, args->subject, 0);
  add_override_options(*app, option_table<EvalOptions>(), "eval", args->overrides, {"k", "batch_size", "chunk", "ais"});
  add_table_options(*app, option_table<AisOptions>(), args->ais, {"ais_steps"});
  app->add_option_function<int64_t>(
         "--seed", [args](int64_t seed) { args->subject.seed = static_cast<uint64_t>(seed); },
         "Seed of the evaluation: the examples' binarization and the draws (default: eval.seed of the run, else 0)")
      ->check(cli_check(at_least(0)));
  app->add_flag("--json", args->json, "Print one JSON object: n, k, elbo, iwae, iwae_stderr, ...");
  return {app, [args] { return run_eval(*args); }, [] { return true; }};
}

}  // namespace dgm
