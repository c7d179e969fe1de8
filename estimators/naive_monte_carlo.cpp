#include "estimators/naive_monte_carlo.h"

#include "estimators/importance_sampling.h"

namespace dgm {

ImportanceEstimate naive_monte_carlo(LatentVariableModel& model, const torch::Tensor& x,
                                     const NaiveMonteCarloOptions& options, const torch::Tensor& mask) {
  check_estimator_input(x, options.k, mask, "naive Monte Carlo");
  const Proposal blind = model.latent_support_size() > 0 ? uniform_proposal() : prior_proposal();
  return importance_sampling(model, x, ImportanceSamplingOptions{options.k, options.chunk, blind}, mask);
}

}  // namespace dgm
