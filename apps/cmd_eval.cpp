// dgm eval: the ELBO and the IWAE-k bound of a trained run on a data split.

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <sys/resource.h>

#include <chrono>
#include <cmath>
#include <filesystem>

#include "apps/cli_common.h"
#include "apps/run_directory.h"
#include "core/dataset.h"
#include "core/device.h"
#include "core/error.h"
#include "core/progress.h"
#include "core/random.h"
#include "estimators/active_units.h"
#include "estimators/elbo.h"
#include "estimators/iwae_bound.h"
#include "models/foreign_weights.h"
#include "models/module_state.h"
#include "models/torchscript_vae.h"

namespace dgm {
namespace {

struct EvalArgs {
  std::string run;
  std::string split;
  int64_t k = 0;
  int64_t limit = 0;
  int64_t batch_size = 0;
  int64_t chunk = 0;
  int64_t seed = -1;
  std::string device;
  std::string weights;
  std::vector<std::string> renames;
  std::string encoder, decoder, likelihood = "bernoulli", data, binarize;
  bool json = false;
};

/// The process's peak resident memory so far, MB.
double peak_memory_mb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;  // ru_maxrss is in KB on Linux
}

struct MeanAndError {
  double mean, stderr_;
};

MeanAndError summarize(const torch::Tensor& values) {
  auto v = values.to(torch::kFloat64);
  const double mean = v.mean().item<double>();
  const double stderr_ = v.numel() > 1 ? v.std().item<double>() / std::sqrt(static_cast<double>(v.numel())) : 0.0;
  return {mean, stderr_};
}

/// What is evaluated: the model, the (binarized) examples, where they came from.
struct EvalSubject {
  std::shared_ptr<void> owner;
  LatentVariableModel* model = nullptr;
  torch::Tensor x;
  std::string source, checkpoint;
  EvalConfig eval;
};

EvalConfig with_overrides(EvalConfig eval, const EvalArgs& args) {
  if (!args.split.empty()) eval.split = args.split;
  if (args.k > 0) eval.k = args.k;
  if (args.batch_size > 0) eval.batch_size = args.batch_size;
  if (args.chunk > 0) eval.chunk = args.chunk;
  if (args.seed >= 0) eval.seed = static_cast<uint64_t>(args.seed);
  return eval;
}

/// Binarizes once under the seed (the same seed gives the same set), or not.
torch::Tensor prepared(ImageSet& data, const EvalArgs& args, const std::string& binarize, bool bernoulli,
                       uint64_t seed) {
  if (args.limit > 0 && args.limit < data.size()) data.x = data.x.slice(0, 0, args.limit);
  if (bernoulli) check_unit_interval(data.x, data.source);
  return binarize == "none" ? data.x : binarize_seeded(data.x, derive_seed(seed, 1));
}

EvalSubject run_subject(const EvalArgs& args, const torch::Device& device) {
  auto run = std::make_shared<LoadedRun>(load_run(args.run, device));
  if (!args.weights.empty()) {  // weights from elsewhere into the run's architecture
    load_foreign_weights(*run->model, args.weights, args.renames);
    run->checkpoint = args.weights;
  }
  EvalSubject subject;
  subject.eval = with_overrides(run->config.eval, args);
  const DataConfig& data_config = run->config.data;
  ImageSet data =
      load_examples(data_config, args.data, subject.eval.split).to(device, resolve_dtype(run->config.train.dtype));
  if (data.dim() != run->metadata.data_dim)
    fail("{} has examples of {} values, but the run was trained on {}", data.source, data.dim(),
         run->metadata.data_dim);
  subject.x = prepared(data, args, args.binarize.empty() ? data_config.binarize : args.binarize,
                       run->config.model.likelihood == "bernoulli", subject.eval.seed);
  subject.source = data.source;
  subject.checkpoint = run->checkpoint;
  subject.model = run->model.get();
  subject.owner = run;
  return subject;
}

EvalSubject torchscript_subject(const EvalArgs& args, const torch::Device& device) {
  if (args.encoder.empty() || args.decoder.empty() || args.data.empty())
    fail("dgm eval needs --run DIR, or --encoder ENC.pt --decoder DEC.pt --data PATH for a TorchScript model");
  EvalSubject subject;
  subject.eval = with_overrides(EvalConfig{}, args);
  ImageSet data = load_examples(DataConfig{}, args.data, subject.eval.split).to(device);
  // A foreign model's data is used as given unless the user says how it was trained.
  subject.x = prepared(data, args, args.binarize.empty() ? "none" : args.binarize, args.likelihood == "bernoulli",
                       subject.eval.seed);
  auto model = std::make_shared<TorchScriptVae>(args.encoder, args.decoder, args.likelihood, data.dim(), device);
  subject.source = data.source;
  subject.checkpoint = args.encoder + " + " + args.decoder;
  subject.model = model.get();
  subject.owner = model;
  return subject;
}

int run_eval(const EvalArgs& args) {
  const torch::Device device = prepare_device(args.device.empty() ? "auto" : args.device, 0);
  EvalSubject subject = args.run.empty() ? torchscript_subject(args, device) : run_subject(args, device);
  const EvalConfig& eval = subject.eval;
  const torch::Tensor& x = subject.x;
  LatentVariableModel& model = *subject.model;
  torch::NoGradGuard no_grad;
  seed_everything(derive_seed(eval.seed, 2));
  std::vector<torch::Tensor> elbos, iwaes;
  const int64_t n = x.size(0);
  const int64_t batches = (n + eval.batch_size - 1) / eval.batch_size;
  Progress progress(fmt::format("eval IWAE-{}", eval.k), batches, "img", !args.json);
  const auto start = std::chrono::steady_clock::now();
  for (int64_t b = 0; b < batches; ++b) {
    auto batch = x.slice(0, b * eval.batch_size, std::min(n, (b + 1) * eval.batch_size));
    elbos.push_back(elbo(model, batch).elbo.cpu());
    IwaeOptions options;
    options.k = eval.k;
    options.chunk = eval.chunk;
    iwaes.push_back(iwae_bound(model, batch, options).cpu());
    progress.update(b + 1, batch.size(0), -iwaes.back().mean().item<double>());
  }
  progress.finish();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const MeanAndError elbo_summary = summarize(torch::cat(elbos));
  const MeanAndError iwae_summary = summarize(torch::cat(iwaes));
  const ActiveUnits units = active_units(model, x);
  if (!std::isfinite(elbo_summary.mean) || !std::isfinite(iwae_summary.mean))
    fail("evaluation gave a non-finite bound (ELBO {}, IWAE {}); the checkpoint {} may be damaged", elbo_summary.mean,
         iwae_summary.mean, subject.checkpoint);

  if (args.json) {
    nlohmann::json out{{"run", args.run.empty() ? nlohmann::json(nullptr) : nlohmann::json(args.run)},
                       {"checkpoint", subject.checkpoint},
                       {"split", eval.split},
                       {"n", n},
                       {"k", eval.k},
                       {"elbo", elbo_summary.mean},
                       {"elbo_stderr", elbo_summary.stderr_},
                       {"iwae", iwae_summary.mean},
                       {"iwae_stderr", iwae_summary.stderr_},
                       {"seconds", seconds},
                       {"active_units", units.active},
                       {"latent_units", units.total},
                       {"peak_memory_mb", peak_memory_mb()}};
    fmt::print("{}\n", out.dump());
  } else {
    fmt::print("model      {}\n", args.run.empty() ? subject.checkpoint : args.run + " (" + subject.checkpoint + ")");
    fmt::print("split      {} ({} examples of {})\n", eval.split, n, subject.source);
    fmt::print("ELBO       {:.3f} ± {:.3f} nats per example\n", elbo_summary.mean, elbo_summary.stderr_);
    fmt::print("IWAE-{:<5} {:.3f} ± {:.3f} nats per example (a lower bound on log p(x))\n", eval.k, iwae_summary.mean,
               iwae_summary.stderr_);
    fmt::print("active     {} of {} latent units (variance of the encoder mean over these examples > 0.01)\n",
               units.active, units.total);
    fmt::print("time       {:.1f} s\n", seconds);
  }
  return 0;
}

}  // namespace

Command add_eval_command(CLI::App& parent) {
  auto args = std::make_shared<EvalArgs>();
  CLI::App* app = parent.add_subcommand("eval", "Evaluate a trained run: mean ELBO and IWAE-k bound (nats)");
  auto* run = app->add_option("--run,-r", args->run, "Run directory written by dgm train");
  auto* encoder = app->add_option("--encoder", args->encoder,
                                  "TorchScript encoder: x [B, D_x] -> (mu [B, D_z], logvar [B, D_z]); with --decoder")
                      ->excludes(run);
  app->add_option("--decoder", args->decoder,
                  "TorchScript decoder: z [..., D_z] -> logits [..., D_x] (gaussian: (mean, logvar))")
      ->excludes(run)
      ->needs(encoder);
  app->add_option("--likelihood", args->likelihood, "Of the TorchScript decoder: bernoulli (default) or gaussian")
      ->check(CLI::IsMember({"bernoulli", "gaussian"}));
  app->add_option("--data", args->data,
                  "Data: an IDX directory (its --split) or an IDX/NPY file (default: the run's data)");
  app->add_option("--binarize", args->binarize,
                  "none, fixed or dynamic (default: the run's; none for a TorchScript model)")
      ->check(CLI::IsMember({"none", "fixed", "dynamic"}));
  app->add_option("--split", args->split, "test or train (default: eval.split of the run, test)")
      ->check(CLI::IsMember({"test", "train"}));
  app->add_option("--k", args->k, "Importance samples per example (default: eval.k of the run, 5000)")
      ->check(at_least(1));
  app->add_option("--limit", args->limit, "Evaluate only the first N examples")->check(at_least(1));
  app->add_option("--batch-size", args->batch_size, "Examples per batch (default: eval.batch_size, 100)")
      ->check(at_least(1));
  app->add_option("--chunk", args->chunk, "Samples drawn at once; bounds memory (default: eval.chunk, 250)")
      ->check(at_least(1));
  app->add_option("--seed", args->seed, "Seed of the evaluation (default: eval.seed of the run)")->check(at_least(0));
  app->add_option("--weights", args->weights,
                  "Evaluate these weights in the run's model: .safetensors, or a Python "
                  "torch.save(dict(model.state_dict()), PATH) (see dgm import)")
      ->check(CLI::ExistingFile);
  app->add_option("--rename", args->renames, "With --weights: rewrite a name prefix first, OLD=NEW (repeatable)");
  add_device_option(*app, args->device);
  app->add_flag("--json", args->json, "Print one JSON object: n, k, elbo, iwae, iwae_stderr, ...");
  return {app, [args] {
            if (args->run.empty() && args->encoder.empty()) {  // a usage error, like a missing required option
              fmt::print(stderr,
                         "error: dgm eval needs --run DIR, or --encoder ENC.pt --decoder DEC.pt --data PATH\n"
                         "Usage: dgm eval [OPTIONS]\nRun with --help for the full list of options.\n");
              return 2;
            }
            return run_eval(*args);
          }};
}

}  // namespace dgm
