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
  const int64_t chunk = options.chunk <= 0 ? options.k : std::min(options.chunk, options.k);
  WeightStatistics statistics;
  SampleStream draws(*q, options.k, draws_in_blocks(x));
  for (int64_t drawn = 0; drawn < options.k; drawn += chunk)
    statistics.add(importance_log_weights(model, x, *q, draws.next(std::min(chunk, options.k - drawn)), mask));
  return statistics.result();
}

}  // namespace dgm
