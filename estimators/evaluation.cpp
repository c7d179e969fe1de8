#include "estimators/evaluation.h"

#include <torch/torch.h>

#include <chrono>
#include <cmath>

#include "core/progress.h"
#include "core/random.h"
#include "estimators/elbo.h"
#include "estimators/iwae_bound.h"

namespace dgm {

Evaluation evaluate(LatentVariableModel& model, const torch::Tensor& x, const EvalOptions& options, bool progress) {
  check_options(options, "EvalOptions");
  torch::NoGradGuard no_grad;
  seed_everything(derive_seed(options.seed, 2));
  std::vector<torch::Tensor> elbos, iwaes, ais, ais_stderr;
  BandAcceptance acceptance;
  const int64_t n = x.size(0);
  const int64_t batches = (n + options.batch_size - 1) / options.batch_size;
  Progress bar(options.ais > 0 ? fmt::format("eval IWAE-{}, AIS-{}", options.k, options.ais)
                               : fmt::format("eval IWAE-{}", options.k),
               batches, "img", progress);
  const auto start = std::chrono::steady_clock::now();
  EstimatorOptions bound;
  bound.k = options.k;
  bound.chunk = options.chunk;
  EstimatorOptions annealed;
  annealed.ais = options.ais_settings;
  annealed.ais.ais_steps = std::max<int64_t>(options.ais, 1);
  annealed.seed = derive_seed(options.seed, 3);
  for (int64_t b = 0; b < batches; ++b) {
    auto batch = x.slice(0, b * options.batch_size, std::min(n, (b + 1) * options.batch_size));
    elbos.push_back(elbo(model, batch).elbo.cpu());
    iwaes.push_back(iwae_bound(model, batch, bound).cpu());
    if (options.ais > 0) {
      annealed.first_example = b * options.batch_size;
      AisResult result = annealed_importance_sampling(model, batch, annealed);
      ais.push_back(result.weights.log_estimate.to(torch::kFloat64).cpu());
      // The standard error of log p_hat by the delta method: se(p_hat) / p_hat.
      ais_stderr.push_back((result.weights.log_stderr - result.weights.log_estimate).exp().to(torch::kFloat64).cpu());
      acceptance.add(result.acceptance);
    }
    bar.update(b + 1, batch.size(0), -iwaes.back().mean().item<double>());
  }
  bar.finish();
  Evaluation out;
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  out.elbo = torch::cat(elbos);
  out.iwae = torch::cat(iwaes);
  if (options.ais > 0) {
    out.ais = torch::cat(ais);
    out.ais_stderr = torch::cat(ais_stderr);
    out.ais_acceptance = acceptance;
    if (!torch::isfinite(out.ais).all().item<bool>())
      fail("evaluation: AIS gave a non-finite estimate (mean {}); the weights may be damaged",
           out.ais.mean().item<double>());
  }
  if (!torch::isfinite(out.elbo).all().item<bool>() || !torch::isfinite(out.iwae).all().item<bool>())
    fail("evaluation gave a non-finite bound (ELBO {}, IWAE {}); the weights may be damaged",
         out.elbo.mean().item<double>(), out.iwae.mean().item<double>());
  out.active = active_units(model, x);
  return out;
}

}  // namespace dgm
