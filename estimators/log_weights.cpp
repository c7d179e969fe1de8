#include "estimators/log_weights.h"

#include <torch/torch.h>

namespace dgm {

torch::Tensor draw_samples(const Distribution& q, int64_t samples) {
  // One draw per sample, in order: the i-th sample then consumes the same
  // generator stream however the samples are chunked (one call for all k would
  // not: LibTorch's vectorised normal sampler fills in blocks of 16 values).
  std::vector<torch::Tensor> draws;
  draws.reserve(static_cast<std::size_t>(samples));
  for (int64_t i = 0; i < samples; ++i) draws.push_back(q.has_rsample() ? q.rsample(1) : q.sample(1));
  return samples == 1 ? draws.front() : torch::cat(draws, 0);
}

torch::Tensor importance_log_weights(LatentVariableModel& model, const torch::Tensor& x, const Distribution& q,
                                     int64_t samples, const torch::Tensor& mask) {
  auto z = draw_samples(q, samples);
  return model.log_joint(x, z, mask) - q.log_prob(z);
}

}  // namespace dgm
