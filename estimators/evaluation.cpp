#include "estimators/evaluation.h"

#include <torch/torch.h>

#include <chrono>
#include <cmath>

#include "core/progress.h"
#include "core/random.h"
#include "estimators/elbo.h"
#include "estimators/iwae_bound.h"

namespace dgm {

namespace {

/// This process's per-example values [n_r] of every process, in rank order,
/// in their dtype (float64 on the wire: exact for float32 values). A process
/// without batches (fewer batches than processes) takes `dtype`.
torch::Tensor gathered(Collectives& group, const std::vector<torch::Tensor>& parts, torch::Dtype dtype) {
  if (!parts.empty()) dtype = parts.front().scalar_type();
  auto local = parts.empty() ? torch::empty({0}, torch::kFloat64) : torch::cat(parts).to(torch::kFloat64);
  return all_gather_rows(group, local).to(dtype);
}

}  // namespace

uint64_t batch_seed(uint64_t seed, int64_t batch) {
  const uint64_t base = derive_seed(seed, 2);
  return batch == 0 ? base : derive_seed(base, static_cast<uint64_t>(batch));
}

Evaluation evaluate(LatentVariableModel& model, const torch::Tensor& x, const EvalOptions& options, bool progress,
                    Collectives& group) {
  check_options(options, "EvalOptions");
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> elbos, iwaes, ais, ais_stderr;
  BandAcceptance acceptance;
  const int64_t n = x.size(0);
  const int64_t batches = (n + options.batch_size - 1) / options.batch_size;
  const auto [first_batch, end_batch] = shard_of(batches, group.rank(), group.size());
  Progress bar(options.ais > 0 ? fmt::format("eval IWAE-{}, AIS-{}", options.k, options.ais)
                               : fmt::format("eval IWAE-{}", options.k),
               end_batch - first_batch, "img", progress && group.is_main());
  const auto start = std::chrono::steady_clock::now();
  EstimatorOptions bound;
  bound.k = options.k;
  bound.chunk = options.chunk;
  EstimatorOptions annealed;
  annealed.ais = options.ais_settings;
  annealed.ais.ais_steps = std::max<int64_t>(options.ais, 1);
  annealed.seed = derive_seed(options.seed, 3);
  for (int64_t b = first_batch; b < end_batch; ++b) {
    seed_everything(batch_seed(options.seed, b));
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
    bar.update(b + 1 - first_batch, batch.size(0), -iwaes.back().mean().item<double>());
  }
  bar.finish();
  Evaluation out;
  out.elbo = gathered(group, elbos, x.scalar_type());
  out.iwae = gathered(group, iwaes, x.scalar_type());
  if (options.ais > 0) {
    out.ais = gathered(group, ais, torch::kFloat64);
    out.ais_stderr = gathered(group, ais_stderr, torch::kFloat64);
    if (group.size() > 1) {  // the acceptance counts of every process's chains
      auto counts = torch::tensor(acceptance.accepted, torch::kFloat64);
      auto proposals = torch::tensor(acceptance.proposed, torch::kFloat64);
      group.all_reduce_sum(counts);
      group.all_reduce_sum(proposals);
      for (int band = 0; band < BandAcceptance::kBands; ++band) {
        acceptance.accepted[static_cast<std::size_t>(band)] = counts[band].item<double>();
        acceptance.proposed[static_cast<std::size_t>(band)] = proposals[band].item<double>();
      }
    }
    out.ais_acceptance = acceptance;
    if (!torch::isfinite(out.ais).all().item<bool>())
      fail("evaluation: AIS gave a non-finite estimate (mean {}); the weights may be damaged",
           out.ais.mean().item<double>());
  }
  // After the gathers: over a group, the time until the slowest process is done.
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!torch::isfinite(out.elbo).all().item<bool>() || !torch::isfinite(out.iwae).all().item<bool>())
    fail("evaluation gave a non-finite bound (ELBO {}, IWAE {}); the weights may be damaged",
         out.elbo.mean().item<double>(), out.iwae.mean().item<double>());
  out.active = active_units(model, x);
  return out;
}

}  // namespace dgm
