#include "estimators/importance_sampling.h"

#include <torch/torch.h>

#include "core/error.h"
#include "estimators/log_weights.h"

namespace dgm {

void check_estimator_input(const torch::Tensor& x, int64_t k, const torch::Tensor& mask, const char* estimator) {
  if (k <= 0) fail("{}: k = {} samples is not valid: k must be at least 1", estimator, k);
  if (x.dim() != 2) fail("{}: x must be [B, D], got shape {}", estimator, c10::str(x.sizes()));
  if (mask.defined() && mask.sizes() != x.sizes())
    fail("{}: the mask has shape {} but x has shape {}; they must match", estimator, c10::str(mask.sizes()),
         c10::str(x.sizes()));
}

ImportanceEstimate importance_sampling(LatentVariableModel& model, const torch::Tensor& x,
                                       const ImportanceSamplingOptions& options, const torch::Tensor& mask) {
  check_estimator_input(x, options.k, mask, "importance sampling");
  torch::NoGradGuard no_grad;
  auto q = options.proposal(model, x, mask);
  WeightStatistics statistics;
  weigh_in_chunks(model, x, *q, options.k, options.chunk, mask,
                  [&](const torch::Tensor&, const torch::Tensor& log_w) { statistics.add(log_w); });
  return statistics.result();
}

}  // namespace dgm
