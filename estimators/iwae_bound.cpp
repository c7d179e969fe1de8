#include "estimators/iwae_bound.h"

#include <torch/torch.h>

#include "core/numerics.h"
#include "estimators/log_weights.h"

namespace dgm {

torch::Tensor iwae_bound(LatentVariableModel& model, const torch::Tensor& x, const IwaeOptions& options,
                         const torch::Tensor& mask) {
  TORCH_CHECK(options.k >= 1, "Invalid number of IWAE samples: ", options.k);
  TORCH_CHECK(options.chunk >= 0, "Invalid IWAE chunk size: ", options.chunk);
  auto q = model.proposal(x);  // the encoder runs once; only z is drawn per chunk
  const int64_t chunk = options.chunk == 0 ? options.k : std::min(options.chunk, options.k);
  LogSumExpAccumulator total;
  for (int64_t drawn = 0; drawn < options.k; drawn += chunk) {
    total.add(importance_log_weights(model, x, *q, std::min(chunk, options.k - drawn), mask));
  }
  return total.log_mean_exp();
}

}  // namespace dgm
