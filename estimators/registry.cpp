#include "estimators/registry.h"

#include <algorithm>

#include "core/error.h"
#include "core/memory_budget.h"
#include "estimators/class_elbo.h"
#include "estimators/class_sum.h"
#include "estimators/elbo.h"
#include "estimators/exact_marginal.h"
#include "estimators/importance_sampling.h"
#include "estimators/iwae_bound.h"
#include "estimators/naive_monte_carlo.h"
#include "models/class_latent.h"

namespace dgm {
namespace {

Estimate from_weights(ImportanceEstimate weights) {
  Estimate out;
  out.value = weights.log_estimate;
  out.objective = out.value;
  out.weights = std::move(weights);
  return out;
}

Estimate from_value(torch::Tensor value) { return {value, value, std::nullopt, std::nullopt}; }

EstimatorRegistry with_builtin_estimators() {
  EstimatorRegistry registry("estimator");
  EstimatorEntry naive{
      "naive", "naive Monte Carlo: z from the prior (or uniform over a finite latent space)", EstimateKind::kUnbiased,
      false,
      [](LatentVariableModel& model, const torch::Tensor& x, const EstimatorOptions& options,
         const torch::Tensor& mask) { return from_weights(naive_monte_carlo(model, x, options, mask)); }};
  registry.add(naive);
  EstimatorEntry is{
      "is", "importance sampling with the proposal: log of an unbiased estimate of p(x)", EstimateKind::kUnbiased,
      false,
      [](LatentVariableModel& model, const torch::Tensor& x, const EstimatorOptions& options,
         const torch::Tensor& mask) { return from_weights(importance_sampling(model, x, options, mask)); }};
  registry.add(is);
  EstimatorEntry iwae{"iwae", "the importance-weighted bound IWAE-k (Burda et al. 2015)", EstimateKind::kLowerBound,
                      true,
                      [](LatentVariableModel& model, const torch::Tensor& x, const EstimatorOptions& options,
                         const torch::Tensor& mask) { return from_value(iwae_bound(model, x, options, mask)); }};
  iwae.takes_gradient = true;
  iwae.reparameterized = true;
  registry.add(iwae);
  EstimatorEntry elbo_entry{"elbo", "the evidence lower bound (Kingma & Welling 2013), averaged over k draws",
                            EstimateKind::kLowerBound, true,
                            [](LatentVariableModel& model, const torch::Tensor& x, const EstimatorOptions& options,
                               const torch::Tensor& mask) {
                              ElboTerms terms = elbo(model, x, options, mask);
                              return Estimate{terms.elbo, terms.objective, std::nullopt, std::nullopt};
                            }};
  elbo_entry.takes_surrogates = true;
  elbo_entry.reparameterized = true;
  registry.add(elbo_entry);
  EstimatorEntry exact{
      "exact", "the exact log p(x): a closed form, or a sum over a finite latent space", EstimateKind::kExact, true,
      [](LatentVariableModel& model, const torch::Tensor& x, const EstimatorOptions& options,
         const torch::Tensor& mask) { return from_value(exact_log_marginal(model, x, options, mask)); }};
  exact.takes_k = false;
  exact.applies = [](LatentVariableModel& model) { return has_exact_marginal(model); };
  registry.add(exact);
  EstimatorEntry class_sum{
      "class_sum", "z = (y, w): the sum over the classes y, importance sampling over w with q(w | x, y)",
      EstimateKind::kUnbiased, false,
      [](LatentVariableModel& model, const torch::Tensor& x, const EstimatorOptions& options,
         const torch::Tensor& mask) { return from_value(class_sum_log_marginal(model, x, options, mask)); }};
  class_sum.applies = [](LatentVariableModel& model) { return class_latent(model) != nullptr; };
  registry.add(class_sum);
  EstimatorEntry class_elbo_entry{
      "class_elbo",
      "z = (y, w): the ELBO with y summed exactly (Kingma et al. 2014), with labels the labelled bound; M2's objective",
      EstimateKind::kLowerBound, true,
      [](LatentVariableModel& model, const torch::Tensor& x, const EstimatorOptions& options,
         const torch::Tensor& mask) {
        ClassElbo bounds = class_elbo(model, x, options, mask);
        return Estimate{bounds.value, bounds.objective, std::nullopt, std::nullopt};
      }};
  class_elbo_entry.takes_labels = true;
  class_elbo_entry.applies = class_sum.applies;
  registry.add(class_elbo_entry);
  EstimatorEntry ais{"ais",
                     "annealed importance sampling with HMC (Neal 2001; Wu et al. 2017): reads the ais options, not k",
                     EstimateKind::kUnbiased, false,
                     [](LatentVariableModel& model, const torch::Tensor& x, const EstimatorOptions& options,
                        const torch::Tensor& mask) {
                       AisResult result = annealed_importance_sampling(model, x, options, mask);
                       Estimate out = from_weights(std::move(result.weights));
                       out.acceptance = std::move(result.acceptance);
                       return out;
                     }};
  ais.takes_k = false;
  ais.applies = ais_applies;
  ais.by_default = false;
  registry.add(ais);
  return registry;
}

}  // namespace

EstimatorRegistry& estimator_registry() {
  static EstimatorRegistry registry = with_builtin_estimators();
  return registry;
}

namespace {

/// A sampling estimator holds, for each chunk of its draws, a decoder output
/// per draw and example (the outputs, their log-probabilities, x broadcast,
/// a gradient): refused before the allocator would be, naming the options.
void check_estimate_memory(const EstimatorEntry& entry, const torch::Tensor& x, const EstimatorOptions& options) {
  if (entry.kind == EstimateKind::kExact || x.dim() == 0) return;  // an exact sum bounds its own chunk
  const int64_t draws = entry.takes_k ? options.k : options.ais.chains;
  const int64_t at_once = options.chunk > 0 ? std::min(options.chunk, draws) : draws;
  check_memory(
      saturating_product({static_cast<uint64_t>(std::max<int64_t>(at_once, 1)), static_cast<uint64_t>(x.numel()), 4,
                          static_cast<uint64_t>(x.element_size())}),
      fmt::format("{} with {} {} at once for each of {} examples of {} values", entry.name, at_once,
                  entry.takes_k ? "samples" : "chains", x.size(0), x.numel() / std::max<int64_t>(x.size(0), 1)),
      "draw fewer at once (--chunk, eval.chunk) or lower the batch (--batch-size, eval.batch_size)");
}

}  // namespace

Estimate estimate(const std::string& name, LatentVariableModel& model, const torch::Tensor& x,
                  const EstimatorOptions& options, const torch::Tensor& mask) {
  const EstimatorEntry& entry = estimator_registry().at(name);
  check_estimate_memory(entry, x, options);
  return entry.estimate(model, x, options, mask);
}

}  // namespace dgm
