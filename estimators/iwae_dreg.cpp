#include "estimators/iwae_dreg.h"

#include <torch/torch.h>

#include "core/error.h"
#include "core/numerics.h"
#include "estimators/input_checks.h"
#include "estimators/log_weights.h"

namespace dgm {

torch::Tensor iwae_bound_dreg(LatentVariableModel& model, const torch::Tensor& x, const EstimatorOptions& options,
                              const torch::Tensor& mask) {
  const int64_t k = options.k;
  check_estimator_input(x, k, mask, "IWAE bound (DReG)");
  auto q = options.proposal(model, x, mask);
  if (!q->has_rsample())
    fail(
        "the doubly reparameterized gradient needs a reparameterizable proposal; {} has none: use "
        "train.gradient=standard",
        q->name());
  auto z = draw_samples(*q, k, draws_in_blocks(x));  // [k, B, *event], a function of phi
  // z as the model sees it: a separate node, so that a hook can reweight the
  // gradient flowing back from log p(x, z) alone.
  auto z_model = z.clone();
  auto log_joint = model.log_joint(x, z_model, mask);  // [k, B]: theta, and phi through z
  auto log_q = q->log_prob(z);                         // phi directly and through z
  auto log_q_at_fixed_z = q->log_prob(z.detach());     // phi directly only
  auto log_weights = log_joint - log_q;
  auto normalized = torch::softmax(log_weights.detach(), 0);  // w~ [k, B]
  auto per_sample = normalized;
  while (per_sample.dim() < z.dim()) per_sample = per_sample.unsqueeze(-1);
  // theta gets w~ d log p / d theta from the first term below; the path into
  // phi through z gets one more factor w~, making it w~^2 d log p / d z.
  z_model.register_hook([per_sample](const torch::Tensor& grad) { return grad * per_sample; });
  // -(log q(z) - log q|_{z fixed}) differentiates to minus the path derivative
  // of log q alone: the score-function term cancels.
  auto surrogate =
      (normalized * log_joint).sum(0) + (normalized * normalized * (log_q_at_fixed_z - log_q)).sum(0);  // [B]
  auto bound = log_mean_exp(log_weights, 0);
  return bound.detach() + (surrogate - surrogate.detach());
}

}  // namespace dgm
