#include "models/generation.h"

#include <torch/torch.h>

#include "core/error.h"
#include "models/class_latent.h"

namespace dgm {

torch::Tensor sample_means(LatentVariableModel& model, int64_t n) {
  torch::NoGradGuard no_grad;
  auto z = model.prior(n)->sample(1);
  return model.likelihood(z)->mean()[0];
}

torch::Tensor latent_codes(LatentVariableModel& model, const torch::Tensor& x) {
  torch::NoGradGuard no_grad;
  return model.proposal(x)->point_estimate();
}

torch::Tensor decode_codes(LatentVariableModel& model, const torch::Tensor& z) {
  torch::NoGradGuard no_grad;
  return model.likelihood(z.unsqueeze(0))->mean()[0];
}

torch::Tensor reconstruct(LatentVariableModel& model, const torch::Tensor& x) {
  return decode_codes(model, latent_codes(model, x));
}

torch::Tensor encoder_features(LatentVariableModel& model, const torch::Tensor& x) {
  torch::NoGradGuard no_grad;
  if (ClassLatentModel* classes = class_latent(model)) {
    auto q_y = classes->class_log_proposal(x).exp();                            // [B, K]
    auto w = (q_y.t().unsqueeze(-1) * classes->rest_proposal(x).loc()).sum(0);  // [B, W]
    return torch::cat({q_y, w}, -1);
  }
  auto q = model.proposal(x);
  if (!q->has_mean())
    fail("{} has no encoder mean to use as features: its proposal is {}", model.describe(), q->name());
  return q->mean();
}

}  // namespace dgm
