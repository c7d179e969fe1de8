#include "estimators/importance_sampling.h"

#include <torch/torch.h>

#include "estimators/input_checks.h"
#include "estimators/log_weights.h"

namespace dgm {

ImportanceEstimate importance_sampling(LatentVariableModel& model, const torch::Tensor& x,
                                       const EstimatorOptions& options, const torch::Tensor& mask) {
  check_estimator_input(x, options.k, mask, "importance sampling");
  torch::NoGradGuard no_grad;
  auto q = options.proposal(model, x, mask);
  WeightStatistics statistics;
  weigh_in_chunks(model, x, *q, options.k, options.chunk, mask,
                  [&](const torch::Tensor&, const torch::Tensor& log_w) { statistics.add(log_w); });
  return statistics.result();
}

}  // namespace dgm
