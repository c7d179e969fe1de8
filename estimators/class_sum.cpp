#include "estimators/class_sum.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/error.h"
#include "core/numerics.h"
#include "estimators/input_checks.h"
#include "models/class_latent.h"

namespace dgm {

torch::Tensor class_log_joint(LatentVariableModel& model, const torch::Tensor& x, const EstimatorOptions& options,
                              const torch::Tensor& mask) {
  check_estimator_input(x, options.k, mask, "class sum");
  ClassLatentModel* classes = class_latent(model);
  if (classes == nullptr)
    fail("the class sum needs a model whose latent has a class y (model.type m2); {} has none", model.describe());
  const int64_t k = classes->classes(), batch = x.size(0);
  const DiagNormal q = classes->rest_proposal(x, mask);  // batch [K, B]
  const auto y = torch::arange(k, x.options().dtype(torch::kLong)).unsqueeze(1).expand({k, batch});
  const int64_t chunk = options.chunk > 0 ? std::min(options.chunk, options.k) : options.k;
  LogSumExpAccumulator total;
  for (int64_t done = 0; done < options.k; done += chunk) {
    const int64_t n = std::min(chunk, options.k - done);
    auto w = q.has_rsample() ? q.rsample(n) : q.sample(n);  // [n, K, B, W]
    auto z = join_class_and_rest(y.unsqueeze(0).expand({n, k, batch}), w).reshape({n * k, batch, -1});
    auto log_w = model.log_joint(x, z, mask).reshape({n, k, batch}) - q.log_prob(w);
    if (options.check_weights) check_log_weights(log_w.reshape({n * k, batch}), "class sum");
    total.add(log_w);
  }
  return total.log_mean_exp().t();
}

torch::Tensor class_log_posterior(LatentVariableModel& model, const torch::Tensor& x, const EstimatorOptions& options,
                                  const torch::Tensor& mask) {
  return torch::log_softmax(class_log_joint(model, x, options, mask), -1);
}

ClassPosteriors class_posteriors(LatentVariableModel& model, const torch::Tensor& x, const EstimatorOptions& options,
                                 int64_t batch_size, const torch::Tensor& mask) {
  ClassLatentModel* classes = class_latent(model);
  if (classes == nullptr)
    fail("p(y | x) needs a model whose latent has a class y (model.type m2); {} has none", model.describe());
  if (batch_size < 1) fail("class posteriors: batch size {} must be at least 1", batch_size);
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> by_sum, amortised;
  for (int64_t start = 0; start < x.size(0); start += batch_size) {
    const int64_t end = std::min(x.size(0), start + batch_size);
    auto rows = x.slice(0, start, end);
    auto rows_mask = mask.defined() ? mask.slice(0, start, end) : mask;
    by_sum.push_back(class_log_posterior(model, rows, options, rows_mask));
    amortised.push_back(classes->class_log_proposal(rows, rows_mask));
  }
  return {torch::cat(by_sum), torch::cat(amortised)};
}

torch::Tensor class_sum_log_marginal(LatentVariableModel& model, const torch::Tensor& x,
                                     const EstimatorOptions& options, const torch::Tensor& mask) {
  return torch::logsumexp(class_log_joint(model, x, options, mask), -1);
}

}  // namespace dgm
