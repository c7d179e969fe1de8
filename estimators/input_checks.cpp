#include "estimators/input_checks.h"

#include <torch/torch.h>

#include "core/error.h"

namespace dgm {

void check_estimator_input(const torch::Tensor& x, int64_t k, const torch::Tensor& mask, const char* estimator) {
  if (k <= 0) fail("{}: k = {} samples is not valid: k must be at least 1", estimator, k);
  if (x.dim() != 2) fail("{}: x must be [B, D], got shape {}", estimator, c10::str(x.sizes()));
  if (mask.defined() && mask.sizes() != x.sizes())
    fail("{}: the mask has shape {} but x has shape {}; they must match", estimator, c10::str(mask.sizes()),
         c10::str(x.sizes()));
}

void check_log_weights(const torch::Tensor& log_weights, const char* estimator) {
  auto bad = torch::isnan(log_weights) | torch::isposinf(log_weights);
  if (!bad.any().item<bool>()) return;
  auto where = bad.nonzero()[0];
  const int64_t sample = where[0].item<int64_t>(), example = where[1].item<int64_t>();
  const double value = log_weights[sample][example].item<double>();
  fail(
      "{}: log-weight {} for example {} (sample {}): the proposal puts mass where the model has none, or a "
      "density is broken; use a proposal whose support covers the model's",
      estimator, value, example, sample);
}

}  // namespace dgm
