#include "estimators/iwae_bound.h"

#include <torch/torch.h>

#include "core/numerics.h"
#include "estimators/input_checks.h"
#include "estimators/iwae_dreg.h"
#include "estimators/log_weights.h"

namespace dgm {

torch::Tensor iwae_bound(LatentVariableModel& model, const torch::Tensor& x, const EstimatorOptions& options,
                         const torch::Tensor& mask) {
  check_estimator_input(x, options.k, mask, "IWAE bound");
  if (options.gradient == Gradient::kDreg) return iwae_bound_dreg(model, x, options, mask);
  auto q = options.proposal(model, x, mask);  // the encoder runs once; only z is drawn per chunk
  LogSumExpAccumulator total;
  weigh_in_chunks(model, x, *q, options.k, options.chunk, mask, [&](const torch::Tensor&, const torch::Tensor& log_w) {
    if (options.check_weights) check_log_weights(log_w, "IWAE bound");
    total.add(log_w);
  });
  return total.log_mean_exp();
}

}  // namespace dgm
