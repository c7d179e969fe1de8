#include "models/generation.h"

#include <torch/torch.h>

namespace dgm {

torch::Tensor sample_means(LatentVariableModel& model, int64_t n) {
  torch::NoGradGuard no_grad;
  auto z = model.prior(n)->sample(1);
  return model.likelihood(z)->mean()[0];
}

torch::Tensor reconstruct(LatentVariableModel& model, const torch::Tensor& x) {
  torch::NoGradGuard no_grad;
  auto z = model.proposal(x)->mean().unsqueeze(0);
  return model.likelihood(z)->mean()[0];
}

}  // namespace dgm
