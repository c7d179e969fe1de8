#include "estimators/importance_resampling.h"

#include <torch/torch.h>

#include "core/error.h"
#include "estimators/input_checks.h"
#include "estimators/log_weights.h"
#include "estimators/weight_statistics.h"

namespace dgm {

torch::Tensor importance_resample(LatentVariableModel& model, const torch::Tensor& x, const EstimatorOptions& options,
                                  int64_t m, const torch::Tensor& mask) {
  check_estimator_input(x, options.k, mask, "importance resampling");
  if (m < 1) fail("importance resampling: m = {} draws is not valid: it must be at least 1", m);
  torch::NoGradGuard no_grad;
  auto q = options.proposal(model, x, mask);
  std::vector<torch::Tensor> zs, log_ws;
  weigh_in_chunks(model, x, *q, options.k, options.chunk, mask,
                  [&](const torch::Tensor& z, const torch::Tensor& log_w) {
                    check_log_weights(log_w, "importance resampling");
                    zs.push_back(z);
                    log_ws.push_back(log_w);
                  });
  auto z = torch::cat(zs);          // [k, B, *latent]
  auto log_w = torch::cat(log_ws);  // [k, B]
  // Where every weight is 0 the draws cannot be ranked: resample uniformly.
  auto all_zero = torch::isneginf(log_w).all(0, /*keepdim=*/true);
  log_w = torch::where(all_zero, torch::zeros_like(log_w), log_w);
  auto probabilities = torch::softmax(log_w, 0).t();                             // [B, k]
  auto chosen = torch::multinomial(probabilities, m, /*replacement=*/true).t();  // [m, B]
  auto batch = torch::arange(x.size(0), chosen.options()).expand_as(chosen);
  return z.index({chosen, batch});
}

}  // namespace dgm
