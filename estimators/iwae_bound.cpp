#include "estimators/iwae_bound.h"

#include <torch/torch.h>

#include "core/numerics.h"
#include "estimators/importance_sampling.h"
#include "estimators/log_weights.h"
#include "estimators/weight_statistics.h"

namespace dgm {

torch::Tensor iwae_bound(LatentVariableModel& model, const torch::Tensor& x, const IwaeOptions& options,
                         const torch::Tensor& mask) {
  check_estimator_input(x, options.k, mask, "IWAE bound");
  auto q = options.proposal(model, x, mask);  // the encoder runs once; only z is drawn per chunk
  const int64_t chunk = options.chunk <= 0 ? options.k : std::min(options.chunk, options.k);
  LogSumExpAccumulator total;
  SampleStream draws(*q, options.k, draws_in_blocks(x));
  for (int64_t drawn = 0; drawn < options.k; drawn += chunk) {
    auto log_weights = importance_log_weights(model, x, *q, draws.next(std::min(chunk, options.k - drawn)), mask);
    if (options.check_weights) check_log_weights(log_weights, "IWAE bound");
    total.add(log_weights);
  }
  return total.log_mean_exp();
}

}  // namespace dgm
