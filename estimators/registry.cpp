#include "estimators/registry.h"

#include "core/error.h"
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

Estimate estimate(const std::string& name, LatentVariableModel& model, const torch::Tensor& x,
                  const EstimatorOptions& options, const torch::Tensor& mask) {
  return estimator_registry().at(name).estimate(model, x, options, mask);
}

}  // namespace dgm
