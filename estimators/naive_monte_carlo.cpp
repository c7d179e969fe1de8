#include "estimators/naive_monte_carlo.h"

#include "estimators/importance_sampling.h"
#include "estimators/input_checks.h"

namespace dgm {

ImportanceEstimate naive_monte_carlo(LatentVariableModel& model, const torch::Tensor& x,
                                     const EstimatorOptions& options, const torch::Tensor& mask) {
  check_estimator_input(x, options.k, mask, "naive Monte Carlo");
  EstimatorOptions blind = options;
  blind.proposal = model.latent_support_size() > 0 ? uniform_proposal() : prior_proposal();
  return importance_sampling(model, x, blind, mask);
}

}  // namespace dgm
